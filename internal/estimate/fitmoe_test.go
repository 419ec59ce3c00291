package estimate

import (
	"strings"
	"testing"
)

// A MoE model whose dense part fits the GPU but not its experts: the
// predicted llama_params_fit offloads every layer and the output, and puts
// the experts of the LAST blocks in system RAM (a device's partial layers are
// its last ones), with llama.cpp's own patterns; a larger GPU moves fewer.
func TestPredictLlamaFitMoEMovesLastExperts(t *testing.T) {
	s := toy(24)
	s.ExpertCount, s.ExpertUsedCount = 64, 4
	s.ExpertLayerBytes = make([]uint64, 24)
	for i := range s.LayerBytes {
		s.LayerBytes[i] = 400 << 20
		s.ExpertLayerBytes[i] = 360 << 20
	}
	s.TensorBytes = 24*400<<20 + 170<<20
	fit := func(vram uint64) LlamaFit {
		in := Input{Summary: s, Target: Target{GPUs: []GPU{{VRAMBytes: vram}}, RAMBytes: 64 << 30}}
		return PredictLlamaFit(LlamaFitInput{In: in, UserCtx: 4096})
	}
	small, big := fit(5<<30), fit(8<<30)
	for _, f := range []LlamaFit{small, big} {
		if f.Aborted != "" || f.NGPULayers != 25 || len(f.Overrides) == 0 {
			t.Fatalf("fit %+v", f)
		}
		last := f.Overrides[len(f.Overrides)-1]
		if last.Pattern != `blk\.23\.ffn_(up|down|gate)_(ch|)exps` || last.Buft != "CPU" {
			t.Errorf("the last block's experts should go to the CPU: %+v", f.Overrides)
		}
		if !strings.HasPrefix(f.Overrides[0].Pattern, `blk\.`) {
			t.Errorf("pattern %q", f.Overrides[0].Pattern)
		}
	}
	if len(big.Overrides) >= len(small.Overrides) {
		t.Errorf("a larger GPU should keep more experts: %d vs %d overrides", len(big.Overrides), len(small.Overrides))
	}
}

// falsePositionStep is the source's: int64 interpolation truncated to uint32,
// clamped to [1, delta−1].
func TestFalsePositionStep(t *testing.T) {
	for _, c := range []struct {
		delta          uint32
		target, lo, hi int64
		want           uint32
	}{
		{10, 50, 0, 100, 5},
		{10, 0, 0, 100, 1},   // at least one layer
		{10, 200, 0, 100, 9}, // at most delta−1
		{4, 10, 10, 10, 1},   // no slope
	} {
		if got := falsePositionStep(c.delta, c.target, c.lo, c.hi); got != c.want {
			t.Errorf("%+v: %d", c, got)
		}
	}
}
