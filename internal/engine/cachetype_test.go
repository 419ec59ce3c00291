package engine

import (
	"context"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// TestOllamaSettingsReachTheEngine starts a real Ollama with a quantized cache
// and two slots: its load log shows the cache type passed through and a
// context of Ctx per sequence (n_ctx = Ctx × slots), and the instance names the
// engine path it ran.
func TestOllamaSettingsReachTheEngine(t *testing.T) {
	bin := ollamatest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not an assertion
	defer cancel()
	inst, err := (&Ollama{Binary: bin, AlwaysStart: true, Env: []string{"HOME=" + t.TempDir()}}).Start(ctx,
		Settings{ModelPath: testModel(t), ModelID: "fitbench/tiny:q8kv", GPULayers: -1, Ctx: 512, Parallel: 2, CacheType: "q8_0", LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	mem, err := inst.Memory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := mem.Log
	if l == nil || l.CacheTypeK != "q8_0" || l.CacheTypeV != "q8_0" || l.NCtx != 512*2 || l.NSeqMax != 2 {
		t.Fatalf("load log %+v", l)
	}
	if f := inst.Flags(); f["OLLAMA_KV_CACHE_TYPE"] != "q8_0" || f["OLLAMA_FLASH_ATTENTION"] != "1" || f["num_ctx"] != "512" {
		t.Errorf("flags %v", f)
	}
	info := Describe(inst)
	if info.Engine != "ollama" || info.Path == "" || info.Binary != bin {
		t.Errorf("info %+v", info)
	}
}
