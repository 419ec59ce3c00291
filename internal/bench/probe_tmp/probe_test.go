package probe

import (
	"context"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/bench"
	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

func TestProbe(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, seed := range []uint64{7, 1, 2, 3} {
		spec := synth.Tiny
		spec.Layers, spec.Embd, spec.Heads, spec.KVHeads, spec.FF, spec.Seed = 2, 64, 2, 1, 128, seed
		paths, _ := synth.Write(t.TempDir(), "p", spec)
		inst, err := (&engine.Ollama{Host: srv.URL}).Start(ctx, engine.Settings{ModelPath: paths[0], ModelID: "probe/x:F16", GPULayers: -1, Ctx: 512, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		set, _ := bench.Builtin()
		for i := 0; i < 5; i++ {
			r, err := inst.Chat(ctx, engine.ChatRequest{Messages: set[i].Messages, MaxTokens: 120}, func(string) {})
			t.Logf("seed %d sample %d: finish %q tokens %d err %v text %q", seed, i, r.FinishReason, r.OutputTokens, err, r.Text[:min(40, len(r.Text))])
		}
	}
}
