package install

// Issue 14.2: every file of every variant has its own place; files of the
// first layout (models/<org>_<repo>/<base name>) migrate.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/registry"
)

// addRepo writes one synth model per (folder, weight type) into the hub root.
func addRepo(t *testing.T, w *world, repoID string, files map[string]gguf.GGMLType) map[string]string {
	t.Helper()
	out := map[string]string{}
	for rel, typ := range files {
		dir := filepath.Join(w.root, filepath.FromSlash(repoID), filepath.Dir(filepath.FromSlash(rel)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		sp := spec
		sp.WeightType = typ
		paths, err := synth.Write(dir, filepath.Base(rel), sp)
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = paths[0]
	}
	return out
}

func installedRow(t *testing.T, w *world, id string) *registry.Model {
	t.Helper()
	md, err := w.db.GetModel(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !installed(md) {
		t.Fatalf("%s not installed: %+v", id, md)
	}
	return md
}

// TestVariantsInOneRepoKeepTheirFiles: Q4_0/model.gguf and Q8_0/model.gguf
// of one repo are two files on disk; installing Q8_0 leaves Q4_0's verified
// file alone, and removing Q8_0 does not delete Q4_0's. Before the fix both
// went to models/<org>_<repo>/model.gguf.
func TestVariantsInOneRepoKeepTheirFiles(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	src := addRepo(t, w, "testorg/Two-GGUF", map[string]gguf.GGMLType{"Q4_0/model.gguf": gguf.TypeQ4_0, "Q8_0/model.gguf": gguf.TypeQ8_0})
	m := w.manager(nil)
	ctx := context.Background()
	for _, q := range []string{"Q4_0", "Q8_0"} {
		if _, err := m.Install(ctx, Request{Repo: "testorg/Two-GGUF", Quant: q}); err != nil {
			t.Fatalf("install %s: %v", q, err)
		}
	}
	q4 := installedRow(t, w, "testorg/Two-GGUF:Q4_0")
	q8 := installedRow(t, w, "testorg/Two-GGUF:Q8_0")
	if q4.Files[0].Path == q8.Files[0].Path {
		t.Fatalf("both variants at %s", q4.Files[0].Path)
	}
	want := filepath.Join(w.dir.Models(), "testorg", "Two-GGUF", "Q4_0", "model.gguf")
	if q4.Files[0].Path != want || q4.Files[0].RepoPath != "Q4_0/model.gguf" {
		t.Errorf("Q4_0 file %+v, want %s", q4.Files[0], want)
	}
	if got := sum(t, q4.Files[0].Path); got != q4.Files[0].SHA256 || got != sum(t, src["Q4_0/model.gguf"]) {
		t.Errorf("Q4_0's file changed after installing Q8_0: %s", got)
	}
	if err := m.RemoveModel(ctx, q8.ModelID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q8.Files[0].Path); !os.IsNotExist(err) {
		t.Errorf("Q8_0's file still there: %v", err)
	}
	installedRow(t, w, q4.ModelID)
	if sum(t, q4.Files[0].Path) != q4.Files[0].SHA256 {
		t.Error("Q4_0's file changed by removing Q8_0")
	}
	// The last variant's removal takes its now empty folders with it.
	if err := m.RemoveModel(ctx, q4.ModelID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.dir.Models(), "testorg")); !os.IsNotExist(err) {
		t.Errorf("empty folders left: %v", err)
	}
}

// TestSimilarRepoNamesDoNotShareAFolder: x_y/z-GGUF and x/y_z-GGUF mapped to
// one folder (x_y_z-GGUF), so their same-named files collided.
func TestSimilarRepoNamesDoNotShareAFolder(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	a := addRepo(t, w, "x_y/z-GGUF", map[string]gguf.GGMLType{"m-Q8_0.gguf": gguf.TypeQ8_0})
	b := addRepo(t, w, "x/y_z-GGUF", map[string]gguf.GGMLType{"m-Q8_0.gguf": gguf.TypeQ4_0})
	m := w.manager(nil)
	ctx := context.Background()
	for _, r := range []string{"x_y/z-GGUF", "x/y_z-GGUF"} {
		if _, err := m.Install(ctx, Request{Repo: r}); err != nil {
			t.Fatalf("install %s: %v", r, err)
		}
	}
	ra := installedRow(t, w, "x_y/z-GGUF:Q8_0")
	rb := installedRow(t, w, "x/y_z-GGUF:Q8_0")
	if sum(t, ra.Files[0].Path) != sum(t, a["m-Q8_0.gguf"]) || sum(t, rb.Files[0].Path) != sum(t, b["m-Q8_0.gguf"]) {
		t.Fatalf("files mixed up: %s, %s", ra.Files[0].Path, rb.Files[0].Path)
	}
	if err := m.RemoveModel(ctx, rb.ModelID, false); err != nil {
		t.Fatal(err)
	}
	installedRow(t, w, ra.ModelID)
}

// legacyRow registers a Hub row the way fitbench before issue 14 did, with
// its file in models/<org>_<repo>/<base>.
func legacyRow(t *testing.T, w *world, id, repoID, quant string, content []byte) *registry.Model {
	t.Helper()
	dir := filepath.Join(w.dir.Models(), "testorg_Old-GGUF")
	os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, "model.gguf")
	if content != nil {
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md := &registry.Model{ModelID: id, Name: id, LocalPath: p, QuantizationType: quant, Status: registry.StatusUntested,
		Repo: repoID, Source: "hub", SizeBytes: int64(len(content)),
		Files: []registry.File{{Path: p, SizeBytes: int64(len(content)), SHA256: "x"}}}
	if _, err := w.db.UpsertModel(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	return md
}

// TestMigratePaths: rows of the first layout move to models/<org>/<repo>/;
// when two rows named one file, the row whose size matches keeps it and the
// other is marked failed; a crash between the rename and the row update (the
// rename done, the row not) is finished by the next run, and a second run
// changes nothing.
func TestMigratePaths(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	ctx := context.Background()
	// Q4_0 was installed first (100 bytes), then Q8_0 (200 bytes) overwrote it.
	legacyRow(t, w, "testorg/Old-GGUF:Q4_0", "testorg/Old-GGUF", "Q4_0", make([]byte, 100))
	q8bytes := make([]byte, 200)
	q8bytes[0] = 8
	legacyRow(t, w, "testorg/Old-GGUF:Q8_0", "testorg/Old-GGUF", "Q8_0", q8bytes)
	// A third row, in another folder, with a pending partial download.
	pdir := filepath.Join(w.dir.Models(), "other_P-GGUF")
	os.MkdirAll(pdir, 0o755)
	pp := filepath.Join(pdir, "p.gguf")
	os.WriteFile(pp+".partial", []byte("half"), 0o644)
	os.WriteFile(pp+".partial.json", []byte("{}"), 0o644)
	if _, err := w.db.UpsertModel(ctx, &registry.Model{ModelID: "other/P-GGUF:Q8_0", LocalPath: pp, Status: registry.StatusFailed,
		Repo: "other/P-GGUF", Source: "hub", Files: []registry.File{{Path: pp, SizeBytes: 4}}}); err != nil {
		t.Fatal(err)
	}
	// The crash: the first run renamed P's files but did not update its row.
	newP := filepath.Join(w.dir.Models(), "other", "P-GGUF", "p.gguf")
	os.MkdirAll(filepath.Dir(newP), 0o755)
	os.Rename(pp+".partial", newP+".partial")

	n, err := MigratePaths(ctx, w.db, w.dir)
	if err != nil || n != 3 {
		t.Fatalf("MigratePaths = %d, %v", n, err)
	}
	q8 := installedRow(t, w, "testorg/Old-GGUF:Q8_0")
	if want := filepath.Join(w.dir.Models(), "testorg", "Old-GGUF", "model.gguf"); q8.LocalPath != want || q8.Files[0].Path != want {
		t.Errorf("Q8_0 at %s, want %s", q8.LocalPath, want)
	}
	if b, _ := os.ReadFile(q8.LocalPath); len(b) != 200 || b[0] != 8 {
		t.Errorf("Q8_0's file: %d bytes", len(b))
	}
	q4, _ := w.db.GetModel(ctx, "testorg/Old-GGUF:Q4_0")
	if q4.Status != registry.StatusFailed || q4.Files[0].Path == q8.Files[0].Path || installed(q4) {
		t.Errorf("Q4_0 after migration: %s %q at %s", q4.Status, q4.StatusReason, q4.Files[0].Path)
	}
	p, _ := w.db.GetModel(ctx, "other/P-GGUF:Q8_0")
	if p.LocalPath != newP {
		t.Errorf("P at %s", p.LocalPath)
	}
	for _, f := range []string{newP + ".partial", newP + ".partial.json"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("partial state not moved: %v", err)
		}
	}
	for _, old := range []string{"testorg_Old-GGUF", "other_P-GGUF"} {
		if _, err := os.Stat(filepath.Join(w.dir.Models(), old)); !os.IsNotExist(err) {
			t.Errorf("old folder %s left: %v", old, err)
		}
	}
	if n, err := MigratePaths(ctx, w.db, w.dir); err != nil || n != 0 {
		t.Errorf("second run = %d, %v", n, err)
	}
	// Removing the failed Q4_0 row must not delete Q8_0's file.
	if _, err := Remove(ctx, w.db, w.dir, q4, false); err != nil {
		t.Fatal(err)
	}
	installedRow(t, w, q8.ModelID)
}

// TestUnsafeListingNameIs4xx (issue 14.6): a hostile listing path was
// answered 500 "see logs"; it is the listing's fault, so the API says 422.
func TestUnsafeListingNameIs4xx(t *testing.T) {
	for _, err := range []error{
		func() error { _, err := safeFile(t.TempDir(), "../../x.gguf"); return err }(),
		func() error { _, err := repoDir(t.TempDir(), "../x"); return err }(),
	} {
		var st interface{ HTTPStatus() int }
		if !errors.As(err, &st) || st.HTTPStatus() < 400 || st.HTTPStatus() >= 500 {
			t.Errorf("%v: not a 4xx error", err)
		}
	}
}

// TestRegistryReplacedUnderARunningProcess (issue 14.6): with registry.db
// and its WAL deleted under a running server, installs reported success and
// vanished on restart. The replaced file is detected and the install refused.
func TestRegistryReplacedUnderARunningProcess(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	m := w.manager(nil)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(w.dir.DB() + suffix)
	}
	_, err := m.Install(context.Background(), Request{Repo: repo, Quant: "Q8_0"})
	if !errors.Is(err, registry.ErrReplaced) {
		t.Fatalf("install with the registry file deleted: %v", err)
	}
	var st interface{ HTTPStatus() int }
	if !errors.As(err, &st) || st.HTTPStatus() != 503 {
		t.Errorf("not a 503: %v", err)
	}
}

// blockingBench stands in for the engine (only its duration matters here):
// it holds the benchmark phase until released.
type blockingBench struct{ started, release chan struct{} }

func (b *blockingBench) Benchmark(ctx context.Context, id string, samples int, progress func(int, int)) error {
	close(b.started)
	<-b.release
	return nil
}

// TestRemoveRefusedDuringBenchmark (issue 14.4): `fitbench rm` while the
// server benchmarked the model deleted the row under the running job, which
// then failed on a foreign key. Remove (what rm and DELETE call) takes the
// model's job lock and refuses while the benchmark holds it; the lock is a
// flock per open file, so a second handle here conflicts exactly as a
// second process does.
func TestRemoveRefusedDuringBenchmark(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	ctx := context.Background()
	if _, err := w.manager(nil).Install(ctx, Request{Repo: repo, Quant: "Q8_0"}); err != nil {
		t.Fatal(err)
	}
	b := &blockingBench{started: make(chan struct{}), release: make(chan struct{})}
	m := New(Config{DB: w.db, Dir: w.dir, Hub: w.manager(nil).cfg.Hub, Fetcher: NewDownloader(), Bench: b,
		Logger: w.manager(nil).cfg.Logger})
	id := "testorg/Pipe-GGUF:Q8_0"
	if _, err := m.StartBenchmark(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	<-b.started
	md, err := w.db.GetModel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Remove(ctx, w.db, w.dir, md, false)
	var be *BusyError
	if !errors.As(err, &be) || !errors.Is(err, ErrBusy) {
		t.Errorf("Remove during a benchmark: %v", err)
	}
	if _, err := w.db.GetModel(ctx, id); err != nil {
		t.Errorf("the row went away during the benchmark: %v", err)
	}
	close(b.release)
	m.Wait()
	if _, err := Remove(ctx, w.db, w.dir, md, false); err != nil {
		t.Errorf("Remove after the benchmark: %v", err)
	}
}
