package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/source"
)

// testAnalyzer is a TEST DOUBLE for the real analysis pipeline (the lead's
// end-to-end tests use internal/analyze with localhub). It parses the input with
// the real source parser, then answers a fixed report in the estimator's JSON
// shape. Repo names starting with "err-" produce the Hub's typed errors, which a
// real Hub can produce too but only with a network fault or a gated repo.
type testAnalyzer struct{}

func (testAnalyzer) Analyze(ctx context.Context, req AnalyzeRequest) (any, error) {
	ref, err := source.Parse(req.Content)
	if err != nil {
		return nil, err
	}
	org, _, _ := strings.Cut(ref.Repo, "/")
	switch org {
	case "err-missing":
		return nil, &hub.Error{Kind: hub.RepoNotFound, Status: 404, Msg: "repository " + ref.Repo + " not found", Hint: "check the repo id"}
	case "err-gated":
		return nil, &hub.Error{Kind: hub.Gated, Status: 403, Msg: ref.Repo + " is gated", Hint: "accept the license, then set HF_TOKEN"}
	case "err-ratelimit":
		return nil, &hub.Error{Kind: hub.RateLimited, Status: 429, Msg: "the Hub is rate limiting requests", Hint: "wait a minute"}
	case "err-down":
		return nil, &hub.Error{Kind: hub.Unreachable, Msg: "cannot reach the Hub", Hint: "check the network"}
	case "err-internal":
		return nil, fmt.Errorf("estimate: %w", errors.New("boom"))
	}
	quant := req.Quant
	if quant == "" {
		quant = ref.Quant
	}
	if quant == "" {
		quant = "Q4_K_M"
	}
	return sampleReport(ref.Repo, quant, req), nil
}

// sampleReport mirrors the analysis JSON (ADD_MODEL_GUIDE + issue 4).
func sampleReport(repo, quant string, req AnalyzeRequest) map[string]any {
	sizes := map[string]float64{"Q2_K": 2.9, "Q4_K_M": 4.7, "Q5_K_M": 5.4, "Q8_0": 7.7, "F16": 14.5}
	vram := 8.0
	if req.VRAMGB > 0 {
		vram = req.VRAMGB
	}
	model := sizes[quant]
	if model == 0 {
		model = 4.7
	}
	kv, over := 1.07, 0.9
	total := model + kv + over
	off := 0.0
	if total > vram {
		off = total - vram + 0.5
	}
	var variants []map[string]any
	for _, q := range []string{"Q2_K", "Q4_K_M", "Q5_K_M", "Q8_0", "F16"} {
		t := sizes[q] + kv + over
		verdict := "fits"
		if t > vram {
			verdict = "offload"
		}
		if sizes[q] > vram+16 {
			verdict = "too_large"
		}
		variants = append(variants, map[string]any{"quant": q, "size_gb": sizes[q], "files": []string{"model-" + q + ".gguf"},
			"verdict": verdict, "fits": verdict != "too_large", "fits_without_offload": verdict == "fits"})
	}
	return map[string]any{
		"success": true, "model_id": repo + ":" + quant, "model_name": "Test Model 8B " + quant,
		"quantization": quant, "will_fit": true, "fits_without_offload": off == 0,
		"memory": map[string]any{"total_gb": total, "model_gb": model, "kv_cache_gb": kv, "overhead_gb": over,
			"available_gb": vram, "cpu_offload_gb": off},
		"performance": map[string]any{"estimated_throughput": 42.5, "quality_stars": 4, "offload_penalty": 0},
		"comparison": map[string]any{"total_models": 2, "comparisons": []map[string]any{
			{"model_name": "Gemma 3 4B", "throughput": 153.0, "ratio": 0.28, "faster": false},
			{"model_name": "Tiny 1B", "throughput": 30.0, "ratio": 1.4, "faster": true}}},
		"gpu_layers": 33, "total_layers": 33, "context": 8192, "engine": "llamacpp",
		"hardware": map[string]any{"gpu": map[string]any{"name": "Test GPU", "vram_gb": vram}},
		"variants": variants, "recommendation": map[string]any{"fits_fully": map[string]any{"quant": "Q4_K_M"}},
		"source": "header",
	}
}

// testInstaller is a TEST DOUBLE for internal/install: it writes real registry
// rows and publishes real bus events on a timer, without downloading or running
// an engine (those are covered by the install and bench packages' own tests).
type testInstaller struct {
	db      *registry.DB
	bus     *install.Bus
	step    time.Duration
	samples int

	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

func newTestInstaller(db *registry.DB, step time.Duration) *testInstaller {
	return &testInstaller{db: db, bus: install.NewBus(), step: step, samples: 5, running: map[string]bool{}}
}

func (ti *testInstaller) Bus() *install.Bus { return ti.bus }

func (ti *testInstaller) Install(ctx context.Context, req InstallRequest) (Job, error) {
	id := req.ModelID
	if !strings.Contains(id, ":") && req.Quant != "" {
		id += ":" + strings.ToUpper(req.Quant)
	}
	if strings.HasPrefix(id, "err-conflict/") {
		return Job{}, &StatusError{Status: http.StatusConflict, Msg: "disk is locked", Hint: "try later"}
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if ti.running[id] {
		return Job{ModelID: id, Status: "running", Existing: true}, nil
	}
	repo, quant, _ := strings.Cut(id, ":")
	if _, err := ti.db.UpsertModel(ctx, &registry.Model{ModelID: id, Name: "Test Model " + quant, Repo: repo,
		QuantizationType: quant, SizeGB: 4.7, EstimatedMemoryGB: 6.7, Status: registry.StatusDownloading,
		QualityStars: 4, EstimatedThroughput: 42.5}); err != nil {
		return Job{}, err
	}
	ti.running[id] = true
	ti.bus.Publish(install.Event{ModelID: id, Status: install.StatusAnalyzing})
	ti.wg.Add(1)
	go ti.run(id, req.Benchmark)
	return Job{ModelID: id, Status: install.StatusAnalyzing}, nil
}

func (ti *testInstaller) Benchmark(ctx context.Context, modelID string, samples int) (Job, error) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if ti.running[modelID] {
		return Job{}, &StatusError{Status: http.StatusConflict, Msg: "busy"}
	}
	ti.running[modelID] = true
	ti.bus.Publish(install.Event{ModelID: modelID, Status: install.StatusBenchmarking, Samples: ti.samples})
	ti.wg.Add(1)
	go func() {
		defer ti.wg.Done()
		ti.bench(context.Background(), modelID)
		ti.finish(modelID)
	}()
	return Job{ModelID: modelID, Status: install.StatusBenchmarking}, nil
}

func (ti *testInstaller) run(id string, bench bool) {
	defer ti.wg.Done()
	ctx := context.Background()
	const total = 4_700_000_000
	for i := 1; i <= 10; i++ {
		time.Sleep(ti.step)
		done := int64(total * i / 10)
		ti.bus.Publish(install.Event{ModelID: id, Status: install.StatusDownloading, Progress: float64(i * 10),
			Bytes: done, Total: total, Speed: 85e6, ETA: float64(total-done) / 85e6})
	}
	ti.bus.Publish(install.Event{ModelID: id, Status: install.StatusVerifying, Progress: 100, Bytes: total, Total: total})
	_ = ti.db.SetStatus(ctx, id, registry.StatusDownloaded, "")
	if bench {
		ti.bench(ctx, id)
	}
	ti.finish(id)
}

func (ti *testInstaller) bench(ctx context.Context, id string) {
	_ = ti.db.SetStatus(ctx, id, registry.StatusBenchmarking, "")
	run := &registry.BenchmarkRun{ModelID: id, Engine: "test-double", Samples: ti.samples, Concurrency: 1}
	_, _ = ti.db.StartRun(ctx, run)
	var outs []registry.Output
	for i := 1; i <= ti.samples; i++ {
		time.Sleep(ti.step)
		ti.bus.Publish(install.Event{ModelID: id, Status: install.StatusBenchmarking, Progress: float64(100 * i / ti.samples),
			Sample: i, Samples: ti.samples})
		outs = append(outs, registry.Output{SampleIndex: i - 1, PromptID: fmt.Sprintf("p%03d", i),
			Prompt: fmt.Sprintf("Prompt %d", i), Output: fmt.Sprintf("answer %d from %s", i, id), OutputTokens: 12})
	}
	_ = ti.db.AddOutputs(ctx, run.ID, outs)
	run.OutputTokS, run.TotalTokS = 40.0, 95.0
	_ = ti.db.FinishRun(ctx, run)
	_ = ti.db.UpdateMeasured(ctx, id, 40.0, 95.0)
	_ = ti.db.SetStatus(ctx, id, registry.StatusTested, "")
}

func (ti *testInstaller) finish(id string) {
	ti.mu.Lock()
	delete(ti.running, id)
	ti.mu.Unlock()
	ti.bus.Publish(install.Event{ModelID: id, Status: install.StatusComplete, Progress: 100})
}

// env is one server under test with its real registry file.
type env struct {
	srv  *Server
	http *httptest.Server
	db   *registry.DB
	inst *testInstaller
	dir  string
}

func newEnv(t *testing.T, step time.Duration, cfg Config) *env {
	t.Helper()
	dir := t.TempDir()
	db, err := registry.Open(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	inst := newTestInstaller(db, step)
	t.Cleanup(func() { inst.wg.Wait(); db.Close() })
	if cfg.DataDir == "" {
		cfg.DataDir = dir
	}
	s, err := New(cfg, Deps{Analyzer: testAnalyzer{}, Installer: inst, Registry: db,
		Hardware: func(context.Context) (any, error) {
			return map[string]any{"gpus": []any{}, "cpu": "test cpu", "ram_gb": 16}, nil
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &env{srv: s, http: hs, db: db, inst: inst, dir: dir}
}
