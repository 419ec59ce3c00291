package registry

import (
	"context"
	"encoding/json"
	"math"
	"testing"
)

// A run keeps its settings, engine, own estimate, token totals, stop and error
// reasons, and reading it puts each measurement beside that estimate.
func TestRunKeepsSettingsEstimateAndReasons(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.UpsertModel(ctx, &Model{ModelID: "o/r:Q8_0", Name: "R", Status: StatusUntested}); err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(RunSettings{Engine: "ollama", EnginePath: "llama.cpp runner", Context: 2048, Parallel: 1, CacheType: "f16", GPULayers: -1, KVTokens: 70})
	run := &BenchmarkRun{ModelID: "o/r:Q8_0", Engine: "ollama", Settings: settings}
	if _, err := db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	est, _ := json.Marshal(RunEstimate{Engine: "ollama", DecodeTokS: 110, TotalBytes: 1_100_000})
	run.Estimate, run.EngineInfo, run.DecodeSource = est, json.RawMessage(`{"engine":"ollama","cpu_only":true}`), "ollama eval_count/eval_duration"
	run.EngineTokS, run.HarnessE2ETokS, run.MemCPUBytes = 100, 80, 1_000_000
	run.PromptTokens, run.OutputTokens, run.Samples, run.Errors = 300, 600, 10, 1
	run.StopReasons = map[string]int{"length": 8, "repeat_limit": 1}
	run.ErrorReasons = []ErrorReason{{Reason: "HTTP 500: boom", Count: 1, FirstSample: 3}}
	if err := db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var s RunSettings
	if err := json.Unmarshal(got.Settings, &s); err != nil || s.Context != 2048 || s.EnginePath != "llama.cpp runner" || s.KVTokens != 70 {
		t.Errorf("settings %s %v", got.Settings, err)
	}
	if got.StopReasons["repeat_limit"] != 1 || len(got.ErrorReasons) != 1 || got.ErrorReasons[0].FirstSample != 3 ||
		got.PromptTokens != 300 || got.OutputTokens != 600 || got.DecodeSource == "" || got.HarnessE2ETokS != 80 {
		t.Errorf("run %+v", got)
	}
	c := got.Comparison
	if c == nil || c.DecodeError == nil || c.MemoryError == nil || math.Abs(*c.DecodeError-0.10) > 1e-12 || math.Abs(*c.MemoryError-0.10) > 1e-12 {
		t.Fatalf("comparison %+v", c)
	}
	outs := []Output{{RunID: run.ID, SampleIndex: 0, PromptID: "p0", StopReason: "repeat_limit"}}
	if err := db.AddOutputs(ctx, run.ID, outs); err != nil {
		t.Fatal(err)
	}
	if o, err := db.ListOutputs(ctx, run.ID); err != nil || o[0].StopReason != "repeat_limit" {
		t.Errorf("outputs %+v %v", o, err)
	}
	// A run recorded before 0008 (no estimate) reads with no comparison.
	old := &BenchmarkRun{ModelID: "o/r:Q8_0", Engine: "ollama"}
	db.StartRun(ctx, old)
	db.FinishRun(ctx, old)
	if g, _ := db.GetRun(ctx, old.ID); g.Comparison != nil || g.StopReasons == nil || g.ErrorReasons == nil {
		t.Errorf("old run %+v", g)
	}
}
