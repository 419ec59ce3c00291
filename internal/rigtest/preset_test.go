package rigtest

import (
	"context"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
)

// knownPresetGaps are per-device compute figures (and the totals they move)
// outside the global bounds, with their cause (see checkKnown). Empty: every
// preset is exact on every device. (phi3's residual-first add, gemma's
// embedding scale, the per-head q/k norms and gemma's post-norm order were
// the last differences: profile.go residualFirst, embedScale, qkNorm.)
var knownPresetGaps = map[string]string{}

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
	specs, err := PresetSpecs()
	if err != nil {
		t.Fatal(err)
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
				c, err := Compare(ctx, bin, p, Label(sums[i], DensePresets[i], sc.Name, in), in)
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
