package estimate

import (
	"testing"

	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
)

// TestMoERouteFromTheFile: build_moe_ffn's arguments come from the file where
// llama.cpp reads them (deepseek2: expert_gating_func, expert_weights_norm, an
// exp_probs_b tensor) and from the architecture's call otherwise (gpt-oss's
// router bias and SOFTMAX_WEIGHT gating, qwen3moe's softmax with norm_w).
func TestMoERouteFromTheFile(t *testing.T) {
	_, sums, err := estimatetest.WriteModels(t.TempDir(), estimatetest.MoEModels)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]moeRoute{
		"qwen3moe":      {gating: gatingSoftmax, normW: true},
		"granitehybrid": {gating: gatingSoftmax, normW: true},
		"gpt-oss":       {gating: gatingSoftmaxWeight, routerBias: true},
		// the synthetic deepseek2 is V3-shaped (q-LoRA): sigmoid, normalised,
		// a selection bias, scaled (src/models/deepseek2.cpp: scale_w true)
		"deepseek2": {gating: gatingSigmoid, probsBias: true, normW: true, scaleW: true},
	}
	seen := 0
	for _, s := range sums {
		w, ok := want[s.Architecture]
		if !ok {
			continue
		}
		seen++
		if got := moeRouteFor(s); *got != w {
			t.Errorf("%s: route %+v, want %+v", s.Architecture, *got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("checked %d architectures, want %d", seen, len(want))
	}
}
