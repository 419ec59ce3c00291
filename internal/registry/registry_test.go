package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// schema returns every object's SQL text from sqlite_master, sorted.
func schema(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.r.Query(`SELECT type, name, COALESCE(sql,'') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, s string
		if err := rows.Scan(&typ, &name, &s); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, s)
	}
	return b.String()
}

func TestMigratedStepByStepEqualsFresh(t *testing.T) {
	ctx := context.Background()
	fresh := openTemp(t)

	// Build an old database one migration at a time, with data in it.
	path := filepath.Join(t.TempDir(), "old.db")
	w, _ := sql.Open("sqlite", dsn(path, "immediate"))
	w.SetMaxOpenConns(1)
	r, _ := sql.Open("sqlite", dsn(path, ""))
	old := &DB{path: path, w: w, r: r}
	if err := old.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := old.SchemaVersion(ctx); v != 1 {
		t.Fatalf("version after step 1 = %d", v)
	}
	if _, err := old.w.Exec(`INSERT INTO model_registry (model_id, name, status, created_at, updated_at)
		VALUES ('a/b:Q4_0', 'B', 'tested', 'x', 'x')`); err != nil {
		t.Fatal(err)
	}
	for v := 2; v <= LatestVersion(); v++ {
		if err := old.migrateTo(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	reopened, err := Open(path) // applies nothing more
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if got, want := schema(t, reopened), schema(t, fresh); got != want {
		t.Fatalf("schema differs\nmigrated:\n%s\nfresh:\n%s", got, want)
	}
	if v, _ := reopened.SchemaVersion(ctx); v != LatestVersion() || v < 2 {
		t.Fatalf("version = %d, latest %d", v, LatestVersion())
	}
	m, err := reopened.GetModel(ctx, "a/b:Q4_0")
	if err != nil || m.Status != StatusTested || m.Source != "hub" {
		t.Fatalf("data not kept across migrations: %+v %v", m, err)
	}
}

func TestModelCRUD(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	m := &Model{ModelID: "bartowski/OLMo-2-1124-7B-Instruct-GGUF:Q4_0", Name: "OLMo 2 7B Q4_0",
		QuantizationType: "Q4_0", SizeGB: 4.23, Status: StatusDownloading, Repo: "bartowski/OLMo-2-1124-7B-Instruct-GGUF",
		Files:        []File{{Path: "OLMo-2-1124-7B-Instruct-Q4_0.gguf", SizeBytes: 4230000000, SHA256: strings.Repeat("ab", 32)}},
		QualityStars: 4, EstimatedThroughput: 700}
	id, err := db.UpsertModel(ctx, m)
	if err != nil || id == 0 {
		t.Fatal(id, err)
	}
	m.LocalPath = "/data/models/x.gguf"
	id2, err := db.UpsertModel(ctx, m)
	if err != nil || id2 != id {
		t.Fatalf("upsert changed id %d → %d (%v)", id, id2, err)
	}
	for _, key := range []string{m.ModelID, fmt.Sprint(id)} {
		got, err := db.GetModel(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if got.LocalPath != m.LocalPath || len(got.Files) != 1 || got.Files[0].SHA256 != m.Files[0].SHA256 ||
			got.SizeGB != 4.23 || got.CreatedAt.IsZero() {
			t.Fatalf("got %+v", got)
		}
	}
	if _, err := db.GetModel(ctx, "no/such:Q4_0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing model: %v", err)
	}
	if err := db.UpdateMeasured(ctx, m.ModelID, 41.5, 120); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListModels(ctx)
	if err != nil || len(list) != 1 || list[0].ThroughputTokensPerSec != 41.5 || list[0].TotalTokS != 120 {
		t.Fatalf("list %+v %v", list, err)
	}
	// JSON carries the original design's column names.
	b, _ := json.Marshal(list[0])
	for _, col := range []string{"id", "model_id", "name", "local_path", "quantization_type", "size_gb",
		"estimated_memory_gb", "cpu_offload_gb", "throughput_tokens_per_sec", "status"} {
		if !strings.Contains(string(b), `"`+col+`":`) {
			t.Errorf("JSON lacks %q: %s", col, b)
		}
	}
	if _, err := db.UpsertModel(ctx, &Model{ModelID: "x/y:Q", Status: "bogus"}); err == nil {
		t.Fatal("bogus status accepted")
	}
	if err := db.DeleteModel(ctx, m.ModelID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteModel(ctx, m.ModelID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestRunsOutputsAndCascade(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.UpsertModel(ctx, &Model{ModelID: "o/r:Q8_0", Status: StatusBenchmarking}); err != nil {
		t.Fatal(err)
	}
	run := &BenchmarkRun{ModelID: "o/r:Q8_0", Engine: "ollama", Samples: 2, Concurrency: 1,
		EngineFlags: json.RawMessage(`{"num_gpu":0}`)}
	id, err := db.StartRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartRun(ctx, &BenchmarkRun{ModelID: "not/there:Q"}); err == nil {
		t.Fatal("run for unknown model accepted (foreign keys off?)")
	}
	if err := db.AddOutputs(ctx, id, []Output{{SampleIndex: 0, PromptID: "p0", Output: "hi", OutputTokens: 1},
		{SampleIndex: 1, PromptID: "p1", Output: "yo", LatencyMs: 12.5}}); err != nil {
		t.Fatal(err)
	}
	run.OutputTokS, run.TTFTP99Ms, run.MemCPUBytes = 33.3, 250, 1<<30
	if err := db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, id)
	if err != nil || got.Status != RunCompleted || got.OutputTokS != 33.3 || got.MemCPUBytes != 1<<30 ||
		got.FinishedAt.IsZero() || string(got.EngineFlags) != `{"num_gpu":0}` {
		t.Fatalf("run %+v %v", got, err)
	}
	runs, _ := db.ListRuns(ctx, "o/r:Q8_0")
	outs, _ := db.ListOutputs(ctx, id)
	if len(runs) != 1 || len(outs) != 2 || outs[1].LatencyMs != 12.5 {
		t.Fatalf("runs %d outputs %+v", len(runs), outs)
	}
	if err := db.DeleteModel(ctx, "o/r:Q8_0"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetRun(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("run survived model delete: %v", err)
	}
	var n int
	db.r.QueryRow(`SELECT COUNT(*) FROM benchmark_outputs`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d outputs survived cascade", n)
	}
}

func TestJobs(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	j := &Job{ModelID: "a/b:Q4_K_M", Repo: "a/b", Quant: "Q4_K_M", Files: []File{{Path: "b.gguf", SizeBytes: 9}},
		Options: json.RawMessage(`{"no_bench":true}`)}
	if _, err := db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	done := &Job{ModelID: "c/d:Q8_0", Status: JobDone}
	db.CreateJob(ctx, done)
	j.Status, j.Phase = JobRunning, "downloading"
	if err := db.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListUnfinishedJobs(ctx)
	if err != nil || len(list) != 1 || list[0].Phase != "downloading" || string(list[0].Options) != `{"no_bench":true}` {
		t.Fatalf("%+v %v", list, err)
	}
	if _, err := db.GetJob(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	j.Status = "weird"
	if err := db.UpdateJob(ctx, j); err == nil {
		t.Fatal("bad job status accepted")
	}
}

func TestStatusTransitions(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	id := "s/t:Q4_0"
	db.UpsertModel(ctx, &Model{ModelID: id, Status: StatusDownloading})
	path := []string{StatusDownloaded, StatusBenchmarking, StatusTested, StatusBenchmarking, StatusFailed,
		StatusDownloading, StatusFailed, StatusBenchmarking, StatusDownloaded, StatusUntested, StatusBenchmarking}
	for _, s := range path {
		if err := db.SetStatus(ctx, id, s, "because"); err != nil {
			t.Fatalf("→ %s: %v", s, err)
		}
	}
	m, _ := db.GetModel(ctx, id)
	if m.Status != StatusBenchmarking || m.StatusReason != "because" {
		t.Fatalf("%+v", m)
	}
	db.SetStatus(ctx, id, StatusTested, "")
	for _, bad := range []string{StatusDownloaded, StatusDownloading, StatusUntested} {
		err := db.SetStatus(ctx, id, bad, "")
		var te *TransitionError
		if !errors.As(err, &te) || !errors.Is(err, ErrInvalidTransition) || te.From != StatusTested {
			t.Fatalf("tested → %s: %v", bad, err)
		}
	}
	if err := db.SetStatus(ctx, id, "nope", ""); err == nil {
		t.Fatal("unknown status accepted")
	}
	if err := db.SetStatus(ctx, "missing/x:Q", StatusFailed, ""); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	// The CHECK constraint guards the column even against raw SQL.
	if _, err := db.w.Exec(`UPDATE model_registry SET status='weird'`); err == nil {
		t.Fatal("CHECK constraint missing")
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	// Two handles on one file stand in for two processes; each has goroutines.
	var dbs []*DB
	for i := 0; i < 2; i++ {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			db := dbs[g%2]
			for i := 0; i < 15; i++ {
				id := fmt.Sprintf("org/m%d:Q%d", g, i)
				if _, err := db.UpsertModel(ctx, &Model{ModelID: id, Status: StatusDownloading}); err != nil {
					errs <- err
					return
				}
				if err := db.SetStatus(ctx, id, StatusDownloaded, ""); err != nil {
					errs <- err
					return
				}
				if _, err := db.ListModels(ctx); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, _ := dbs[0].ListModels(ctx)
	if len(list) != 8*15 {
		t.Fatalf("%d rows", len(list))
	}
}

func TestNotADatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.db")
	junk := []byte("this is not sqlite, it is a text file the user put here\n")
	os.WriteFile(path, junk, 0o644)
	_, err := Open(path)
	if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(junk) {
		t.Fatal("file was modified")
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("a WAL file was created next to it")
	}
	// Valid header, garbage pages.
	bad := append([]byte("SQLite format 3\x00"), make([]byte, 200)...)
	for i := 16; i < len(bad); i++ {
		bad[i] = 0xEE
	}
	path2 := filepath.Join(dir, "bad.db")
	os.WriteFile(path2, bad, 0o644)
	if _, err := Open(path2); err == nil {
		t.Fatal("corrupt database opened")
	}
	if b, _ := os.ReadFile(path2); string(b) != string(bad) {
		t.Fatal("corrupt file was modified")
	}
	if _, err := Open(filepath.Join(dir, "no", "such", "registry.db")); err == nil ||
		!strings.Contains(err.Error(), "create the data directory") {
		t.Fatalf("missing dir: %v", err)
	}
}

// TestOddPath: spaces and percent signs in the data directory reach SQLite intact.
func TestOddPath(t *testing.T) {
	d := filepath.Join(t.TempDir(), "my dir%20x?y")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := Open(filepath.Join(d, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(filepath.Join(d, "registry.db")); err != nil {
		t.Fatal(err)
	}
}

func TestModelsVersionChangesWithEveryModelWrite(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v0, err := db.ModelsVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error {
			_, err := db.UpsertModel(ctx, &Model{ModelID: "o/r:Q4_0", Status: StatusDownloading})
			return err
		},
		func() error { return db.SetStatus(ctx, "o/r:Q4_0", StatusDownloaded, "") },
		func() error { return db.DeleteModel(ctx, "o/r:Q4_0") },
	}
	prev := v0
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		v, err := db.ModelsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v == prev {
			t.Fatalf("step %d: version stayed %d after a model write", i, v)
		}
		prev = v
	}
}

// Deleting the newest model (and with it its runs) must not hand its ids to
// the next model or run: pages and links hold numeric ids.
func TestIDsAreNeverReused(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id1, err := db.UpsertModel(ctx, &Model{ModelID: "o/a:Q4_0"})
	if err != nil {
		t.Fatal(err)
	}
	run1, err := db.StartRun(ctx, &BenchmarkRun{ModelID: "o/a:Q4_0", Engine: "ollama"})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := db.UpsertModel(ctx, &Model{ModelID: "o/a:Q4_0", Name: "renamed"}); err != nil || again != id1 {
		t.Fatalf("upsert of the same model: id %d, %v; want %d", again, err, id1)
	}
	if err := db.DeleteModel(ctx, "o/a:Q4_0"); err != nil {
		t.Fatal(err)
	}
	id2, err := db.UpsertModel(ctx, &Model{ModelID: "o/b:Q4_0"})
	if err != nil {
		t.Fatal(err)
	}
	run2, err := db.StartRun(ctx, &BenchmarkRun{ModelID: "o/b:Q4_0", Engine: "ollama"})
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 || run2 <= run1 {
		t.Fatalf("ids reused: model %d after %d, run %d after %d", id2, id1, run2, run1)
	}
}
