package estimate

import (
	"fmt"
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

// probeTable is a memory function from the probes llama_params_fit logged on
// the rig (LLAMA_LOG_DEBUG "id=…, n_layer=…, n_part=…, overflow_type=…,
// mem=… MiB"): the replay must ask for the same configurations in the same
// order and, given llama.cpp's own figures, choose what it chose.
type probeTable struct {
	t    *testing.T
	mib  map[string][]int64 // MiB as logged
	b    map[string][]int64 // exact bytes
	seen []string
}

func cfgKey(cfg []nglT) string {
	var b strings.Builder
	for i, c := range cfg {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d/%d/%d", c.n, c.part, c.of)
	}
	return b.String()
}

func (p *probeTable) mem(cfg []nglT, addOut bool) []int64 {
	k := cfgKey(cfg)
	p.seen = append(p.seen, k)
	if v, ok := p.b[k]; ok {
		return v
	}
	v, ok := p.mib[k]
	if !ok {
		p.t.Fatalf("probe %s not in llama.cpp's log (after %v)", k, p.seen)
	}
	out := make([]int64, len(v))
	for i, m := range v {
		out[i] = m << 20
	}
	return out
}

// moe-qwen3/experts-half on the rig: one GPU of 1,140,039,168 bytes (target
// = free − 1 GiB), 40 MiB surplus with all experts in RAM. The figures are the
// rig's exact device bytes for each configuration llama_params_fit probed
// (its log rounds to MiB; each was re-run with the same -ngl/-ot and -c 4096).
// llama.cpp ended with blocks 0–2 full and block 3's whole FFN in RAM
// (4, 1, ATTN): UP missed the target, ATTN did not. The first step of step 4
// interpolates from the step-3 starting probe (30.9 MiB), not the accepted
// dense-only one — the source leaves mem alone when "high" fits at once.
func TestReplayMoEFitOneGPUFromRigLog(t *testing.T) {
	p := &probeTable{t: t, b: map[string][]int64{
		"0/0/4": {32361600}, "4/4/4": {23308160}, "4/0/4": {77839232}, "4/2/4": {51621248},
		"4/1/4": {63682688}, "4/1/2": {68270464}, "4/1/1": {63551616},
	}}
	margin := int64(1 << 30)
	f := replayMoEFit(LlamaFit{NCtx: 4096}, 4, []int64{1140039168}, margin, 40<<20, p.mem)
	want := []string{"0/0/4", "4/4/4", "4/0/4", "4/2/4", "4/1/4", "4/1/2", "4/1/1"}
	if strings.Join(p.seen, ",") != strings.Join(want, ",") {
		t.Errorf("probes %v, llama.cpp's %v", p.seen, want)
	}
	if f.NGPULayers != 5 || len(f.Overrides) != 1 || f.Overrides[0] != (FitOverride{`blk\.3\.ffn_(up|gate|down).*`, "CPU"}) {
		t.Errorf("fit %+v", f)
	}
}

// moe-deepseek2/2gpu-layers on the rig: llama_params_fit never returns. In
// step 4 GPU0 is itself id_dense_start; once its two dense-only layers are
// converted (2, 0) a test step converts nothing, is accepted, and delta stays
// 3. The replay follows the same probes and stops with Aborted.
func TestReplayMoEFitStepFourHangFromRigLog(t *testing.T) {
	p := &probeTable{t: t, mib: map[string][]int64{
		"0/0/4 0/0/4": {13, 7}, "0/0/4 5/5/4": {3, 19}, "0/0/4 3/3/4": {13, 14}, "0/0/4 4/4/4": {9, 18},
		"2/2/4 3/3/4": {15, 13}, "5/0/4 0/0/4": {53, 11}, "2/1/4 3/3/4": {15, 13}, "2/0/4 3/3/4": {16, 12},
	}}
	margin := int64(1 << 30)
	f := replayMoEFit(LlamaFit{NCtx: 4096}, 5, []int64{23<<20 + margin, 15<<20 + margin}, margin, 11<<20, p.mem)
	want := "0/0/4 0/0/4,0/0/4 5/5/4,0/0/4 3/3/4,0/0/4 4/4/4,2/2/4 3/3/4,5/0/4 0/0/4,2/1/4 3/3/4,2/0/4 3/3/4,2/0/4 3/3/4"
	if got := strings.Join(p.seen[:min(9, len(p.seen))], ","); got != want {
		t.Errorf("probes %s\nllama.cpp's %s", got, want)
	}
	if !strings.Contains(f.Aborted, "does not converge") {
		t.Errorf("the replay should stop like llama.cpp never does: %+v", f)
	}
}
