package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/registry"
)

// MigratePaths moves the files of registry rows still in the first layout,
// models/<org>_<repo>/<base name>, to models/<org>/<repo>/<base name> (the
// repo's subfolder of a file is not recorded in such rows, so the base name is
// kept; the row still finds it, and a later install of the variant reuses it).
// It runs whenever a command opens the registry and returns the rows it moved.
//
// It is crash-safe and idempotent: each file is moved with one rename (atomic
// on one filesystem), and the row is updated after its files, only while it
// still names the old path. A rerun after a crash finds the file at its new
// place and only updates the row.
//
// When two rows of one repo named one file (Q4_0/model.gguf and
// Q8_0/model.gguf both became <org>_<repo>/model.gguf), the file holds the
// variant installed last: the row whose size matches it keeps it; the others
// are marked failed with the reason, so they are reinstalled instead of being
// reported "installed" with another variant's bytes.
func MigratePaths(ctx context.Context, db *registry.DB, dir datadir.Dir) (int, error) {
	rows, err := db.ListModels(ctx)
	if err != nil {
		return 0, err
	}
	models := dir.Models()
	named := map[string]bool{} // files named by rows already in the new layout
	var legacy []*registry.Model
	byPath := map[string][]*registry.Model{}
	for _, m := range rows {
		if !isLegacy(models, m) {
			for _, f := range m.Files {
				named[filepath.Clean(f.Path)] = true
			}
			continue
		}
		legacy = append(legacy, m)
		for _, f := range m.Files {
			p := filepath.Clean(f.Path)
			byPath[p] = append(byPath[p], m)
		}
	}
	// Losers first: their rows stop naming the shared file before the
	// winner's rename, so a crash in between cannot hand the file to them.
	sort.SliceStable(legacy, func(i, j int) bool { return lost(legacy[i], byPath) && !lost(legacy[j], byPath) })
	moved := 0
	var errs []error
	for _, m := range legacy {
		if err := migrateRow(ctx, db, models, m, byPath, named); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.ModelID, err))
			continue
		}
		moved++
	}
	return moved, errors.Join(errs...)
}

// isLegacy: a Hub row whose files all lie directly in models/<org>_<repo>/.
func isLegacy(models string, m *registry.Model) bool {
	if m.Source != "hub" || m.Repo == "" || len(m.Files) == 0 {
		return false
	}
	old := filepath.Join(models, strings.ReplaceAll(m.Repo, "/", "_"))
	for _, f := range m.Files {
		if filepath.Dir(filepath.Clean(f.Path)) != old {
			return false
		}
	}
	return true
}

// owner picks the row a shared legacy file belongs to: the one whose size
// matches the bytes on disk (at the old place, or the new one after a
// crash), the latest updated among those, then the highest id.
func owner(p string, sharers []*registry.Model, newPath string) *registry.Model {
	size := int64(-1)
	for _, q := range []string{p, newPath} {
		if st, err := os.Stat(q); err == nil {
			size = st.Size()
			break
		}
	}
	var best *registry.Model
	bestMatch := false
	for _, m := range sharers {
		match := false
		for _, f := range m.Files {
			if filepath.Clean(f.Path) == p && f.SizeBytes == size {
				match = true
			}
		}
		better := best == nil || (match && !bestMatch) ||
			(match == bestMatch && (m.UpdatedAt.After(best.UpdatedAt) || (m.UpdatedAt.Equal(best.UpdatedAt) && m.ID > best.ID)))
		if better {
			best, bestMatch = m, match
		}
	}
	return best
}

// lost reports whether another row owns one of m's shared files.
func lost(m *registry.Model, byPath map[string][]*registry.Model) bool {
	for _, f := range m.Files {
		p := filepath.Clean(f.Path)
		if sh := byPath[p]; len(sh) > 1 {
			if owner(p, sh, "") != m {
				return true
			}
		}
	}
	return false
}

func migrateRow(ctx context.Context, db *registry.DB, models string, m *registry.Model,
	byPath map[string][]*registry.Model, named map[string]bool) error {
	newDir, err := repoDir(models, m.Repo)
	if err != nil {
		return err
	}
	files := append([]registry.File(nil), m.Files...)
	var moves [][2]string
	status, reason := "", ""
	for i, f := range m.Files {
		p := filepath.Clean(f.Path)
		np := filepath.Join(newDir, filepath.Base(p))
		mine := !named[np]
		if sh := byPath[p]; len(sh) > 1 && owner(p, sh, np) != m {
			mine = false
		}
		if !mine {
			// Another variant's install overwrote this file: give the row a
			// place of its own (empty) and say why it is no longer installed.
			tag := m.QuantizationType
			if !safeSegment(tag) {
				tag = fmt.Sprintf("variant-%d", m.ID)
			}
			np = filepath.Join(newDir, tag, filepath.Base(p))
			status = registry.StatusFailed
			reason = fmt.Sprintf("its file %s was overwritten by another variant of %s (fitbench before issue 14 shared file names); run `fitbench install %s` to download it again",
				filepath.Base(p), m.Repo, m.ModelID)
		} else {
			moves = append(moves, [2]string{p, np})
		}
		files[i].Path = np
	}
	for _, mv := range moves {
		for _, suffix := range []string{"", ".partial", ".partial.json"} {
			if err := moveFile(mv[0]+suffix, mv[1]+suffix); err != nil {
				return err
			}
		}
		_ = os.Remove(mv[0] + ".partial.lock")
	}
	if _, err := db.MoveFiles(ctx, m.ModelID, m.LocalPath, files[0].Path, files, status, reason); err != nil {
		return err
	}
	if len(m.Files) > 0 {
		_ = os.Remove(filepath.Dir(filepath.Clean(m.Files[0].Path))) // the old folder, once empty
	}
	return nil
}

// moveFile renames old to new (creating new's folder). A missing old is not
// an error: it was moved before a crash, or was never there.
func moveFile(old, new string) error {
	if _, err := os.Lstat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(new), 0o755); err != nil {
		return err
	}
	if err := os.Rename(old, new); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
