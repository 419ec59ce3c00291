package bench

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// testModel writes a small real llama model: big enough that decode time, not
// HTTP overhead, dominates each token, small enough to run 100 samples quickly.
func testModel(t *testing.T) string {
	t.Helper()
	spec := synth.Tiny
	spec.Layers, spec.Embd, spec.Heads, spec.KVHeads, spec.FF, spec.Seed = 4, 256, 4, 2, 512, 7
	paths, err := synth.Write(t.TempDir(), "bench-tiny", spec)
	if err != nil {
		t.Fatal(err)
	}
	return paths[0]
}

func testDB(t *testing.T, modelID, status string, tokS float64) *registry.DB {
	t.Helper()
	db, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := &registry.Model{ModelID: modelID, Name: "tiny", Status: status, ThroughputTokensPerSec: tokS, OutputTokS: tokS}
	if _, err := db.UpsertModel(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return db
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b)) }

func TestBenchmark100SamplesOnOllama(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a bound, not an assertion
	defer cancel()
	const id = "fitbench/Tiny-GGUF:F16"
	db := testDB(t, id, registry.StatusDownloaded, 0)
	inst, err := (&engine.Ollama{Host: srv.URL, Log: srv.Log}).Start(ctx, engine.Settings{
		ModelPath: testModel(t), ModelID: id, GPULayers: -1, Ctx: 1024, Seed: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var events int
	res, runID, err := Run(ctx, RunOptions{DB: db, ModelID: id, Instance: inst, Samples: set,
		Options: Options{MaxTokens: 28, Concurrency: 1, Progress: func(p Progress) {
			events++
			if p.Total != 100 || p.Done != events {
				t.Errorf("progress %+v after %d events", p, events)
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if events != 100 || res.Completed != 100 || res.Errors != 0 {
		t.Fatalf("events %d, completed %d, errors %d", events, res.Completed, res.Errors)
	}
	// Every metric present and consistent.
	sumOut, sumPrompt := 0, 0
	for _, s := range res.PerSample {
		sumOut += s.OutputTokens
		sumPrompt += s.PromptTokens
		// A garbage model may emit only bytes that are not valid UTF-8, which Ollama
		// never streams: such a sample has tokens but no first-piece time.
		if s.Engine == nil || s.OutputTokens != s.Engine.EvalTokens || (s.TTFT <= 0) != (s.Output == "") || s.TTFT > s.Latency {
			t.Fatalf("sample %s: %+v", s.ID, s)
		}
	}
	if sumOut != res.OutputTokens || sumPrompt != res.PromptTokens || sumOut == 0 || sumPrompt == 0 {
		t.Fatalf("token sums %d/%d vs %d/%d", sumOut, sumPrompt, res.OutputTokens, res.PromptTokens)
	}
	sec := res.Duration.Seconds()
	if !near(res.OutputTokS, float64(sumOut)/sec, 1e-9) || !near(res.TotalTokS, float64(sumOut+sumPrompt)/sec, 1e-9) ||
		!near(res.RequestsPerS, 100/sec, 1e-9) || !near(res.PromptTokS+res.OutputTokS, res.TotalTokS, 1e-9) {
		t.Fatalf("rates inconsistent: %+v", res)
	}
	for name, d := range map[string]Dist{"ttft": res.TTFT, "e2e": res.E2E, "itl": res.ITL, "tpot": res.TPOT} {
		if d.N == 0 || d.Mean <= 0 || d.P50 <= 0 || d.P50 > d.P95 || d.P95 > d.P99 {
			t.Errorf("%s distribution %+v", name, d)
		}
	}
	if res.TTFT.Mean >= res.E2E.Mean || res.E2E.N != 100 || res.TTFT.N < 90 {
		t.Errorf("ttft %+v vs e2e %+v", res.TTFT, res.E2E)
	}
	if res.Memory == nil || res.Memory.CPUBytes <= 0 || res.Memory.Log == nil {
		t.Errorf("memory not measured: %+v %s", res.Memory, res.MemoryErr)
	}
	// The harness's decode rate agrees with the engine's eval_count/eval_duration.
	t.Logf("harness decode %.1f tok/s, engine %.1f tok/s (per step %.1f), output %.1f tok/s, ttft p50 %.1f ms",
		res.HarnessDecodeTPS, res.EngineDecodeTPS, res.EngineStepTPS, res.OutputTokS, res.TTFT.P50)
	if res.EngineDecodeTPS <= 0 || !near(res.HarnessDecodeTPS, res.EngineDecodeTPS, 0.10) {
		t.Errorf("harness %.1f vs engine %.1f tok/s: more than 10%% apart", res.HarnessDecodeTPS, res.EngineDecodeTPS)
	}
	// The registry holds the run, its outputs and the measured speed.
	m, err := db.GetModel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != registry.StatusTested || m.ThroughputTokensPerSec != res.OutputTokS || m.TotalTokS != res.TotalTokS {
		t.Errorf("model row: status %s, throughput %v, total %v; want tested, %v, %v", m.Status, m.ThroughputTokensPerSec, m.TotalTokS, res.OutputTokS, res.TotalTokS)
	}
	run, err := db.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != registry.RunCompleted || run.Samples != 100 || run.OutputTokS != res.OutputTokS ||
		run.EngineTokS != res.EngineDecodeTPS || run.MemCPUBytes != res.Memory.CPUBytes || run.TTFTP99Ms != res.TTFT.P99 ||
		!strings.Contains(string(run.EngineFlags), "num_ctx") {
		t.Errorf("run row %+v", run)
	}
	outs, err := db.ListOutputs(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 100 {
		t.Fatalf("%d outputs stored", len(outs))
	}
	for i, o := range outs {
		if o.SampleIndex != i || o.PromptID != set[i].ID || o.Prompt == "" || o.OutputTokens != res.PerSample[i].OutputTokens || o.LatencyMs <= 0 || o.Error != "" {
			t.Fatalf("output %d: %+v", i, o)
		}
	}
}

func TestEngineKilledMidRunFailsAndRestoresStatus(t *testing.T) {
	bin := ollamatest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not an assertion
	defer cancel()
	const id = "fitbench/Tiny-GGUF:F16"
	db := testDB(t, id, registry.StatusTested, 123.5)
	inst, err := (&engine.Ollama{Binary: bin, AlwaysStart: true, Env: []string{"HOME=" + t.TempDir()}}).Start(ctx,
		engine.Settings{ModelPath: testModel(t), ModelID: id, GPULayers: -1, Ctx: 1024, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	pid := inst.(interface{ Pid() int }).Pid()
	set, _ := Builtin()
	_, runID, err := Run(ctx, RunOptions{DB: db, ModelID: id, Instance: inst, Samples: set,
		Options: Options{MaxTokens: 16, Concurrency: 2, Progress: func(p Progress) {
			if p.Done == 5 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}}})
	var died *EngineDiedError
	if !errors.As(err, &died) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("want an engine-died error naming the kill, got %v", err)
	}
	run, gerr := db.GetRun(ctx, runID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if run.Status != registry.RunFailed || !strings.Contains(run.Error, "engine died mid-run") || run.FinishedAt.IsZero() {
		t.Errorf("run row: %+v", run)
	}
	m, _ := db.GetModel(ctx, id)
	if m.Status != registry.StatusTested || m.ThroughputTokensPerSec != 123.5 {
		t.Errorf("model not restored: status %s, throughput %v", m.Status, m.ThroughputTokensPerSec)
	}
	select {
	case <-inst.Done():
	default:
		t.Error("instance does not report the dead engine")
	}
}
