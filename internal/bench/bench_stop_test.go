package bench

import (
	"context"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// TestEarlyEndIsACompletedSample: a real Ollama ends answers of this small
// model (greedy, one thread) on a token repeated more than 30 times — its
// repeat limit, which drops the answer's final line. Such answers, the
// warm-up among them, are completed samples with stop reason repeat_limit, not
// errors, and the run is recorded with them.
func TestEarlyEndIsACompletedSample(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not an assertion
	defer cancel()
	spec := synth.Tiny
	spec.Layers, spec.Embd, spec.Heads, spec.KVHeads, spec.FF, spec.Seed = 2, 64, 2, 1, 128, 1
	paths, err := synth.Write(t.TempDir(), "looping", spec)
	if err != nil {
		t.Fatal(err)
	}
	const id = "fitbench/Looping-GGUF:F16"
	db := testDB(t, id, registry.StatusDownloaded, 0)
	inst, err := (&engine.Ollama{Host: srv.URL, Log: srv.Log}).Start(ctx, engine.Settings{ModelPath: paths[0], ModelID: id, GPULayers: -1, Ctx: 512, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	all, _ := Builtin()
	// Builtin prompts 3 and 1 make this model loop; 0 runs to the length limit.
	// The first sample is also the warm-up.
	set := []Sample{all[3], all[1], all[0]}
	res, runID, err := Run(ctx, RunOptions{DB: db, ModelID: id, Instance: inst, Samples: set, Options: Options{MaxTokens: 120, Concurrency: 1}})
	if err != nil {
		t.Fatalf("a run whose answers end early failed: %v", err)
	}
	t.Logf("stops %v, errors %v", res.StopReasons, res.ErrorReasons)
	if res.Completed != 3 || res.Errors != 0 || res.StopReasons[engine.FinishRepeatLimit] == 0 {
		t.Fatalf("completed %d, errors %d, stop reasons %v: want 3 completed, some by the repeat limit", res.Completed, res.Errors, res.StopReasons)
	}
	checkConsistent(t, res, 3)
	for _, s := range res.PerSample {
		if s.StopReason == engine.FinishRepeatLimit && (s.OutputTokens < 31 || s.Engine != nil || s.Output == "") {
			t.Errorf("repeat-limited sample %s: %d tokens, timing %v", s.ID, s.OutputTokens, s.Engine)
		}
	}
	outs, _ := db.ListOutputs(ctx, runID)
	run, _ := db.GetRun(ctx, runID)
	if len(outs) != 3 || run.StopReasons[engine.FinishRepeatLimit] != res.StopReasons[engine.FinishRepeatLimit] || run.Errors != 0 {
		t.Errorf("recorded run %+v outputs %+v", run, outs)
	}
}
