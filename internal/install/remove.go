package install

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/registry"
)

// Remove deletes a model's registry row and, unless keepFiles, the files fitbench
// downloaded for it (its shards and its vision projector). Files outside the
// data directory's models folder (a model registered with add-local) are never
// deleted: they belong to the user; nor is a file another registry row still
// names. While another process installs or
// benchmarks the model (it holds the model's job lock) it refuses with a
// *BusyError; the lock is held during the removal so no job starts meanwhile.
func Remove(ctx context.Context, db *registry.DB, dir datadir.Dir, m *registry.Model, keepFiles bool) (int, error) {
	l, err := TryLockModel(dir, m.ModelID)
	if err != nil {
		return 0, err
	}
	defer l.Release()
	if err := db.DeleteModel(ctx, m.ModelID); err != nil {
		return 0, err
	}
	if keepFiles || m.LocalPath == "" {
		return 0, nil
	}
	others := map[string]bool{}
	if rest, err := db.ListModels(ctx); err == nil {
		for _, o := range rest {
			// A repo's variants usually share one projector at its root:
			// removing Q4_K_M keeps the mmproj Q8_0 still loads.
			for _, f := range withProjector(o) {
				others[filepath.Clean(f.Path)] = true
			}
		}
	} else {
		return 0, err
	}
	removed := 0
	for _, f := range withProjector(m) {
		p := filepath.Clean(f.Path)
		if !within(dir.Models(), p) || others[p] {
			continue
		}
		for _, q := range []string{p, p + ".partial", p + ".partial.json"} {
			err := os.Remove(q)
			if err == nil && q == p {
				removed++
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, err
			}
		}
		pruneDirs(dir.Models(), filepath.Dir(p))
	}
	return removed, nil
}

// pruneDirs removes d and its parents up to (not including) root while they
// are empty: models/<org>/<repo>/<subfolder> go with their last file.
func pruneDirs(root, d string) {
	for within(root, d) {
		if os.Remove(d) != nil { // only succeeds when empty
			return
		}
		d = filepath.Dir(d)
	}
}

// within reports whether p lies strictly inside root.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	// "..x.gguf" is a legal name inside root; only a ".." segment escapes.
	escapes := rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
	return err == nil && rel != "." && !escapes && !filepath.IsAbs(rel)
}
