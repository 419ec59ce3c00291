package rigtest

import (
	"context"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// rigPresets are the dense architecture presets (synth.Presets: each a real
// model's config scaled down, its head size, window pattern, fused tensors
// and vocabulary kept) that the vendored llama.cpp loads; the MoE and hybrid
// architectures run in TestMoEOffloadMatchesRig on models sized for expert
// offload.
var rigPresets = []string{"llama-128k", "qwen3-tied", "qwen3", "gemma2", "gemma3", "mistral3", "phi3"}

// knownPresetGaps are per-device compute figures (and the totals they move)
// outside the global bounds, with their cause (see checkKnown).
var knownPresetGaps = map[string]string{
	// gemma3 (5 local : 1 global, window 1024) with two sequences under
	// pipeline parallelism (-ts 7,6, four copies): GPU0 is 1 MiB short
	// (28,385,280 vs 29,433,856 B, −3.6%) with any cache type; with one
	// sequence, and gemma2 with two, it is exact. GPU1 and the host are
	// exact, so the masks' F16 casts GPU0 hands to GPU1 are right; what
	// holds GPU0's extra MiB is not found yet
	"gemma3/2gpu-full-pipeline ctx=1024 np=2 kv=q8_0 GPU0": "gemma3: two sequences under pipeline parallelism",
	// gemma3 without flash attention at partial offload: GPU0 −1.3%
	"gemma3/1gpu-partial ctx=2048 np=1 fa=off GPU0": "gemma3: partial offload without flash attention",
}

// TestPresetsOffloadMatchesRig runs fitbench's plan for every dense
// architecture preset on the seven device setups of Scenarios (one GPU, two
// with pipeline parallelism, two unequal GPUs, partial offload on one and two,
// a GPU too small, CPU only), with the llama-server flags fitbench prints, and
// compares per device like TestOffloadMatchesRig: layers, weights, KV,
// compute, output, total, and that every plan fitbench says runs loads.
func TestPresetsOffloadMatchesRig(t *testing.T) {
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	specs := make([]synth.Spec, len(rigPresets))
	for i, name := range rigPresets {
		s, err := synth.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		specs[i] = s
	}
	paths, sums, err := estimatetest.WriteModels(t.TempDir(), specs)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	off := false
	// settings: one sequence; two with a q8_0 cache (the sliding-window
	// caches per stream, CUDA's row padding); flash attention off (the
	// transposed V cache and the soft-capped or plain softmax path)
	settings := []struct {
		ctx, par int
		cache    string
		fa       *bool
	}{{2048, 1, "", nil}, {1024, 2, "q8_0", nil}, {2048, 1, "", &off}}
	for i, p := range paths {
		for _, set := range settings {
			base := estimate.Input{Summary: sums[i], Engine: estimate.EngineLlamaCpp, Context: set.ctx, Parallel: set.par,
				CacheType: set.cache, FlashAttention: set.fa, SafetyMargin: Margin}
			for _, sc := range Scenarios(base) {
				in := base
				in.Target = estimate.Target{GPUs: sc.GPUs, RAMBytes: RAM}
				c, err := Compare(ctx, bin, p, Label(sums[i], rigPresets[i], sc.Name, in), in)
				if err != nil {
					t.Fatal(err)
				}
				checkKnown(t, c, knownPresetGaps)
				n++
			}
		}
	}
	if n < len(paths)*7*len(settings) {
		t.Fatalf("only %d rig comparisons ran", n)
	}
}
