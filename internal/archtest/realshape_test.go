package archtest

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// The real-sized, header-only presets (real config.json values) analysed as
// `fitbench analyze FILE --engine ollama --ctx 8192 --cpu-only` does: the
// parameter count matches the published one, the engine path is the one
// Ollama v0.17.4 takes, and where the cache is a plain formula the KV figure
// equals it.
func TestRealShapesAnalyze(t *testing.T) {
	const ctx = 8192
	cases := []struct {
		preset  string
		params  float64 // published parameter count (text model, without MTP layers)
		path    Path
		kvBytes uint64 // 0 = no closed form checked here
	}{
		// 10 global layers (every 6th) × 8192 cells + 52 sliding layers × (window
		// 1024 + batch 512) cells, × 16 KV heads × 128 × (K+V) × 2 bytes; the small
		// gemma3 preset's log shows the same 1536-cell sliding layers.
		{"gemma3-27b", 27.0e9, PathOllama, (10*ctx + 52*1536) * 16 * 128 * 2 * 2},
		// 48 layers × 8192 cells × 4 KV heads × 128 × (K+V) × 2 bytes (f16).
		{"qwen3-30b-a3b", 30.5e9, PathOllama, 48 * ctx * 4 * 128 * 2 * 2},
		// 12 full layers × 8192 cells + 12 sliding layers × (4096-token memory +
		// batch 512) cells (kvcache.NewSWAMemCache), × 8 KV heads × 64 × 2 × 2.
		{"gpt-oss-20b", 20.9e9, PathOllama, (12*ctx + 12*4608) * 8 * 64 * 2 * 2},
		// MLA on Ollama's engine: per layer K = kv_lora 512 + rope 64, V = the
		// 512 latent, f16: 61 × 8192 × (576 + 512) × 2 (the small V3 preset's
		// engine log shows the same per-layer layout, docs/ENGINE_TRUTH.md).
		{"deepseek-v3", 671e9, PathOllama, 61 * ctx * (576 + 512) * 2},
		// llama.cpp: 4 attention layers × 8192 × 4 KV heads × 128 × 2 × 2 bytes, plus
		// the RS buffer of 36 Mamba-2 layers, F32: conv state (4−1) × (3072 + 2·128)
		// and SSM state 128 × 3072 (llama-memory-recurrent.cpp; r_l/s_l sizes).
		{"granite-4.0-h-tiny", 6.9e9, PathLlamaCpp, 4*ctx*4*128*2*2 + 36*(3*(3072+256)+128*3072)*4},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.preset, func(t *testing.T) {
			spec, err := synth.Preset(c.preset)
			if err != nil {
				t.Fatal(err)
			}
			if !spec.HeaderOnly {
				t.Fatal("real preset not header-only")
			}
			paths, err := synth.Write(dir, c.preset, spec)
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.ReadFile(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			sum, err := f.Summary()
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(float64(sum.ParamCount)-c.params) / c.params; d > 0.02 {
				t.Errorf("%d params, published %.1fB", sum.ParamCount, c.params/1e9)
			}
			r, e := EstimateFor(Model{Preset: c.preset, Spec: spec, Path: paths[0], Summary: sum}, Case{Preset: c.preset, Context: ctx, Parallel: 1})
			t.Logf("%s (%s): path %q, weights %d, KV %d, compute %d, total %d; file %s",
				c.preset, filepath.Base(paths[0]), e.RawPath, e.Weights, e.KV, e.Compute, e.Total, gb(sum.TensorBytes))
			if e.Path != string(c.path) {
				t.Errorf("engine path %q, Ollama takes %s", e.RawPath, c.path)
			}
			if e.Weights < sum.TensorBytes {
				t.Errorf("weights %d below the file's tensor bytes %d", e.Weights, sum.TensorBytes)
			}
			if c.kvBytes != 0 && e.KV != c.kvBytes {
				t.Errorf("KV %d, closed form %d", e.KV, c.kvBytes)
			}
			if e.Compute == 0 || r.Verdict == "" {
				t.Errorf("no compute estimate / verdict: %+v", r.Memory)
			}
		})
	}
}

func gb(b uint64) string { return fmtGB(float64(b) / 1e9) }
