package install

// Tests of the pipeline against real parts: localhub on loopback serving
// synth models, a real SQLite registry, the real downloader. They live inside
// the package to reach the listing guard (safeFile) directly.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/download"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/registry"
)

const repo = "testorg/Pipe-GGUF"

var spec = synth.Spec{Name: "pipe", Layers: 2, Embd: 512, Heads: 8, KVHeads: 2, FF: 1024, Vocab: 2048, Ctx: 4096,
	Seed: 9, WeightType: gguf.TypeQ8_0}

type world struct {
	t    *testing.T
	hub  *localhub.Hub
	src  string // the served file
	root string // the hub's repos
	dir  datadir.Dir
	db   *registry.DB
}

func newWorld(t *testing.T, opts localhub.Options) *world {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "testorg", "Pipe-GGUF")
	os.MkdirAll(dir, 0o755)
	paths, err := synth.Write(dir, "Pipe-Q8_0", spec)
	if err != nil {
		t.Fatal(err)
	}
	opts.Root = root
	h, err := localhub.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	dd, err := datadir.Resolve(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err := registry.Open(dd.DB())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &world{t: t, hub: h, src: paths[0], root: root, dir: dd, db: db}
}

func (w *world) manager(dl *Downloader) *Manager {
	if dl == nil {
		dl = NewDownloader()
	}
	return New(Config{DB: w.db, Dir: w.dir, Hub: hub.New(hub.Config{Endpoint: w.hub.URL(), MaxRetries: -1}), Fetcher: dl,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func (w *world) dest() string {
	return filepath.Join(w.dir.Models(), "testorg", "Pipe-GGUF", "Pipe-Q8_0.gguf")
}

func (w *world) size() int64 {
	st, err := os.Stat(w.src)
	if err != nil {
		w.t.Fatal(err)
	}
	return st.Size()
}

func sum(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// waitFinal subscribes to a job and returns its final event.
func waitFinal(m *Manager, id string) Event {
	events, cancel := m.Bus().Subscribe(id)
	defer cancel()
	var last Event
	for ev := range events {
		last = ev
	}
	return last
}

func TestNotEnoughDisk(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	dl := NewDownloader()
	const free = 1000
	dl.Options.FreeSpace = func(string) (uint64, error) { return free, nil }
	m := w.manager(dl)
	_, err := m.Install(context.Background(), Request{Repo: repo, Quant: "Q8_0"})
	if !errors.Is(err, download.ErrNoSpace) {
		t.Fatalf("want ErrNoSpace, got %v", err)
	}
	var se *download.SpaceError
	if !errors.As(err, &se) || se.Need < uint64(w.size()) || se.Free != free {
		t.Fatalf("space error: %#v", se)
	}
	msg := err.Error()
	if !strings.Contains(msg, strconv.FormatUint(se.Need, 10)) || !strings.Contains(msg, strconv.Itoa(free)+" bytes") {
		t.Errorf("message must name both numbers: %s", msg)
	}
	for _, p := range []string{w.dest(), w.dest() + ".partial", w.dest() + ".partial.json"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was written", filepath.Base(p))
		}
	}
	if n := w.hub.Counts()[localhub.CountCDNBytes]; n != 0 {
		t.Errorf("%d bytes fetched before the space check", n)
	}
	md, err := w.db.GetModel(context.Background(), repo+":Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	if md.Status != registry.StatusFailed || !strings.Contains(md.StatusReason, "disk space") {
		t.Errorf("row: %s (%s)", md.Status, md.StatusReason)
	}
	if ev, _ := m.Bus().Last(repo + ":Q8_0"); ev.Status != StatusFailed || !strings.Contains(ev.Error, "disk space") {
		t.Errorf("final event: %+v", ev)
	}
}

func TestConcurrentStartOneDownload(t *testing.T) {
	w := newWorld(t, localhub.Options{BandwidthPerConn: 8 << 20})
	m := w.manager(nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	jobs := make([]Job, 4)
	errs := make([]error, 4)
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs[i], errs[i] = m.Start(ctx, Request{Repo: repo, Quant: "Q8_0"})
		}()
	}
	wg.Wait()
	started := 0
	for i, j := range jobs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if j.ModelID != repo+":Q8_0" {
			t.Errorf("job %+v", j)
		}
		if j.Started {
			started++
		}
	}
	final := waitFinal(m, repo+":Q8_0")
	m.Wait()
	if final.Status != StatusComplete {
		t.Fatalf("final event %+v", final)
	}
	// A Start after the first finished may start a (no-op) job of its own;
	// while one runs, the others join it.
	if started < 1 {
		t.Errorf("no job started")
	}
	if got := w.hub.Counts()[localhub.CountCDNBytes]; got != w.size() {
		t.Errorf("fetched %d bytes for a %d-byte file", got, w.size())
	}
	ms, _ := w.db.ListModels(ctx)
	if len(ms) != 1 || ms[0].Status != registry.StatusUntested {
		t.Errorf("rows: %+v", ms)
	}
	if sum(t, w.dest()) != sum(t, w.src) {
		t.Error("file differs")
	}

	// Install (the CLI path) while a Start runs joins it too.
	w2 := newWorld(t, localhub.Options{BandwidthPerConn: 4 << 20})
	m2 := w2.manager(nil)
	j, err := m2.Start(ctx, Request{Repo: repo, Quant: "Q8_0"})
	if err != nil || !j.Started {
		t.Fatal(j, err)
	}
	j2, err := m2.Install(ctx, Request{Repo: repo, Quant: "Q8_0"})
	if err != nil || j2.Started {
		t.Errorf("Install during Start: %+v %v", j2, err)
	}
	m2.Wait()
	if got := w2.hub.Counts()[localhub.CountCDNBytes]; got != w2.size() {
		t.Errorf("fetched %d bytes for a %d-byte file", got, w2.size())
	}
}

// crashed leaves the registry as a killed process would: a running job and a
// model stuck in downloading, with half a partial file on disk.
func (w *world) crashed() string {
	ctx := context.Background()
	id := repo + ":Q8_0"
	_, err := w.db.UpsertModel(ctx, &registry.Model{ModelID: id, Name: "pipe Q8_0", LocalPath: w.dest(),
		QuantizationType: "Q8_0", Status: registry.StatusDownloading, Repo: repo, SizeBytes: w.size(),
		Files: []registry.File{{Path: w.dest(), SizeBytes: w.size()}}})
	if err != nil {
		w.t.Fatal(err)
	}
	opts, _ := json.Marshal(Request{Repo: repo, Quant: "Q8_0"})
	if _, err := w.db.CreateJob(ctx, &registry.Job{ModelID: id, Repo: repo, Quant: "Q8_0", Status: registry.JobRunning,
		Phase: StatusDownloading, Options: opts}); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func TestRecoverMarksFailed(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	id := w.crashed()
	ctx := context.Background()
	resumed, err := w.manager(nil).Recover(ctx, false)
	if err != nil || len(resumed) != 0 {
		t.Fatalf("Recover(false): %v %v", resumed, err)
	}
	md, _ := w.db.GetModel(ctx, id)
	if md.Status != registry.StatusFailed || !strings.Contains(md.StatusReason, "interrupted") ||
		!strings.Contains(md.StatusReason, "fitbench install "+id) {
		t.Errorf("model: %s (%s)", md.Status, md.StatusReason)
	}
	jobs, _ := w.db.ListUnfinishedJobs(ctx)
	if len(jobs) != 0 {
		t.Errorf("jobs left unfinished: %+v", jobs)
	}
	if n := w.hub.Counts()[localhub.CountCDNBytes]; n != 0 {
		t.Errorf("Recover(false) downloaded %d bytes", n)
	}
}

func TestRecoverResumes(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	id := w.crashed()
	ctx := context.Background()
	m := w.manager(nil)
	resumed, err := m.Recover(ctx, true)
	if err != nil || len(resumed) != 1 || resumed[0] != id {
		t.Fatalf("Recover(true): %v %v", resumed, err)
	}
	final := waitFinal(m, id)
	m.Wait()
	if final.Status != StatusComplete {
		t.Fatalf("resumed job ended %+v", final)
	}
	md, _ := w.db.GetModel(ctx, id)
	if md.Status != registry.StatusUntested || md.CommitSHA == "" || len(md.Files) != 1 || md.Files[0].SHA256 != sum(t, w.src) {
		t.Errorf("model after resume: %+v", md)
	}
	if sum(t, w.dest()) != sum(t, w.src) {
		t.Error("file differs")
	}
	if jobs, _ := w.db.ListUnfinishedJobs(ctx); len(jobs) != 0 {
		t.Errorf("unfinished jobs: %+v", jobs)
	}
}

// TestSafeFile: names a hostile listing could carry never map outside dir.
func TestSafeFile(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"", "../../x.gguf", "/etc/passwd", "a/../../b.gguf", "x\x00.gguf", `..\..\x.gguf`,
		"./x.gguf", "a//x.gguf", "..", ".", "a/..", "/", "x.gguf/"} {
		if p, err := safeFile(dir, bad); err == nil {
			t.Errorf("safeFile(%q) = %q, want an error", bad, p)
		} else if !strings.Contains(err.Error(), "unsafe") {
			t.Errorf("safeFile(%q): unclear error %v", bad, err)
		}
	}
	for name, want := range map[string]string{"x.gguf": "x.gguf", "Q4_K_M/x-00001-of-00002.gguf": "Q4_K_M/x-00001-of-00002.gguf",
		"a b.gguf": "a b.gguf", "..x.gguf": "..x.gguf"} {
		p, err := safeFile(dir, name)
		if err != nil || p != filepath.Join(dir, want) {
			t.Errorf("safeFile(%q) = %q, %v", name, p, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a", "a/b/c", "../b", "a/..", `a\b/c`, "a/b\x00", "/b"} {
		if _, err := repoDir(dir, bad); err == nil {
			t.Errorf("repoDir(%q) accepted", bad)
		}
	}
}

func FuzzSafeFile(f *testing.F) {
	for _, s := range []string{"x.gguf", "../x.gguf", "a/../../b", "/abs", "a\x00b"} {
		f.Add(s)
	}
	dir := "/data/models/org_repo"
	f.Fuzz(func(t *testing.T, name string) {
		p, err := safeFile(dir, name)
		if err != nil {
			return
		}
		if !within(dir, p) || !strings.HasSuffix(p, filepath.FromSlash(name)) {
			t.Fatalf("safeFile(%q) = %q escapes %s", name, p, dir)
		}
	})
}

// TestBadRequests: typed errors, no row, no event storm.
func TestBadRequests(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	m := w.manager(nil)
	ctx := context.Background()
	if _, err := m.Start(ctx, Request{}); err == nil {
		t.Error("empty request accepted")
	}
	if _, err := m.Start(ctx, Request{Repo: "testorg/Nope-GGUF"}); !hub.IsKind(err, hub.RepoNotFound) {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := m.Start(ctx, Request{Repo: repo, Quant: "Q2_K"}); err == nil || !strings.Contains(err.Error(), "Q2_K") {
		t.Errorf("missing quant: %v", err)
	}
	if ms, _ := w.db.ListModels(ctx); len(ms) != 0 {
		t.Errorf("rows: %+v", ms)
	}
}
