package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/server/browsertest"
)

// TestBrowserWorkbenchLikeForLike: the workbench puts a run's measurement
// beside the estimate made for that run's settings, with the error, names the
// engine and its CPU build, labels harness figures, and lists failed samples
// with their reasons. The run is recorded in the real registry as bench.Run
// records one.
func TestBrowserWorkbenchLikeForLike(t *testing.T) {
	b := browsertest.New(t)
	e := newEnv(t, 10*time.Millisecond, Config{})
	ctx := context.Background()
	const id = "org/Model-GGUF:Q8_0"
	if _, err := e.db.UpsertModel(ctx, &registry.Model{ModelID: id, Name: "Model Q8_0", Status: registry.StatusTested,
		EstimatedThroughput: 900, EstimatedMemoryGB: 9, DecodeTokS: 50, ThroughputTokensPerSec: 20, OutputTokS: 20}); err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(registry.RunSettings{Engine: "ollama", EnginePath: "llama.cpp runner", Context: 2048, Parallel: 1, CacheType: "f16", GPULayers: -1})
	run := &registry.BenchmarkRun{ModelID: id, Engine: "ollama", Settings: settings}
	if _, err := e.db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	est, _ := json.Marshal(registry.RunEstimate{Engine: "ollama", DecodeTokS: 55, TotalBytes: 1_100_000_000})
	run.Estimate = est
	run.EngineInfo = json.RawMessage(`{"engine":"ollama","version":"0.17.4","path":"llama.cpp runner","build":"fitbench's CPU build of Ollama","cpu_only":true}`)
	run.EngineTokS, run.MemCPUBytes, run.Samples, run.Errors, run.OutputTokS = 50, 1_000_000_000, 10, 2, 20
	run.StopReasons = map[string]int{"length": 7, "repeat_limit": 1}
	run.ErrorReasons = []registry.ErrorReason{{Reason: "engine error: out of memory", Count: 2, FirstSample: 4}}
	if err := e.db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	row, hist := browsertest.WorkbenchRow(t, b, e.http.URL, id)
	t.Logf("row: %q\nhistory: %q", row, hist)
	for _, want := range []string{"~55.0 tok/s", "for run #", "estimate +10%", "1.00 GB measured", "est. 1.10 GB (+10%)", "output (harness)"} {
		if !strings.Contains(row, want) {
			t.Errorf("workbench row lacks %q: %q", want, row)
		}
	}
	if strings.Contains(row, "900") {
		t.Errorf("the install's estimate (900 tok/s) is shown beside a run with its own estimate: %q", row)
	}
	for _, want := range []string{"ollama 0.17.4 (llama.cpp runner)", "fitbench's CPU build of Ollama", "ran on the CPU only",
		"ctx 2048 × 1", "repeat_limit 1", "2 failed", "2× engine error: out of memory", "decode (engine)", "output tok/s (harness)"} {
		if !strings.Contains(hist, want) && !strings.Contains(strings.ToLower(hist), want) { // headers are upper-cased by CSS
			t.Errorf("history lacks %q: %q", want, hist)
		}
	}
}
