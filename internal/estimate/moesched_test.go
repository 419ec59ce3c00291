package estimate

import "testing"

// llama_params_fit's overflow patterns (get_overflow_pattern) match tensor
// names: the replay places exactly the weights a pattern matches
// (overflowMatches over gtensor.ffn), here on a MoE block with a router,
// three expert matrices and a shared expert.
func TestOverflowMatchesPatterns(t *testing.T) {
	in := schedInput(2, 1)
	in.Summary.ExpertCount, in.Summary.ExpertUsedCount = 8, 2
	in.Summary.Arch.ExpertFFLength = 1024
	in.Summary.Arch.ExpertSharedFFLength = 2048
	g := buildGraph(shapeOf(in))
	type count struct{ router, up, gate, down, upSh, gateSh, downSh int }
	matched := func(lf layerFraction) (c count) {
		for _, w := range g.weights {
			if w.layer != 0 || !overflowMatches(lf, w) {
				continue
			}
			switch {
			case w.ffn == ffnRouter:
				c.router++
			case w.expert && w.ffn == ffnUp:
				c.up++
			case w.expert && w.ffn == ffnGate:
				c.gate++
			case w.expert && w.ffn == ffnDown:
				c.down++
			case w.ffn == ffnUp:
				c.upSh++
			case w.ffn == ffnGate:
				c.gateSh++
			case w.ffn == ffnDown:
				c.downSh++
			default:
				t.Errorf("%v matched a weight outside the FFN: %+v", lf, w)
			}
		}
		return c
	}
	for _, c := range []struct {
		lf   layerFraction
		want count
	}{
		{fracMoE, count{up: 1, gate: 1, down: 1}},                                            // ffn_(up|down|gate)_(ch|)exps
		{fracAttn, count{router: 1, up: 1, gate: 1, down: 1, upSh: 1, gateSh: 1, downSh: 1}}, // ffn_(up|gate|down).*
		{fracUp, count{router: 1, gate: 1, down: 1, gateSh: 1, downSh: 1}},                   // ffn_(gate|down).*
		{fracGate, count{down: 1, downSh: 1}},                                                // ffn_down.*
	} {
		if got := matched(c.lf); got != c.want {
			t.Errorf("%v: matched %+v, want %+v", c.lf, got, c.want)
		}
	}
}

// A Mamba-2 layer on the CPU at partial offload: every op on its host
// weights is offloaded to the GPU except ggml_ssm_scan, whose result is one
// row (CUDA's offload_op counts rows). It runs on the CPU with copies of x,
// B and C — three strided views of xBC, each about xBC's size — beside its
// output, so the CPU's buffer holds all of them at once (the rig measured
// granitehybrid's host buffer 2× the graph inputs at partial offload).
func TestScheduleMambaScanStaysOnTheCPU(t *testing.T) {
	in := Input{Summary: mamba2Hybrid("granitehybrid"), Engine: EngineLlamaCpp, Context: 4096, Parallel: 1,
		Target: Target{GPUs: []GPU{{VRAMBytes: 80 << 30}}, RAMBytes: 256 << 30}}
	full := planLlama(in, 5)
	part := planLlama(in, 2) // blocks 2, 3 on the GPU; block 0 (recurrent) on the CPU
	sh := shapeOf(in)
	d := sh.stateDims
	T := uint64(sh.nTok)
	xBC := 4 * uint64(d.convCh) * T
	scan := 4 * (uint64(d.inner)*T + uint64(d.stateElems))
	inputs, embd := hostInputs(sh)
	inputs += gallocAlign // s_copy_main, the recurrent states' indices (4 B per sequence)
	if got := full.devices[1].ComputeBytes; got != inputs+embd {
		t.Errorf("full offload: CPU compute %d, want the inputs %d + embeddings %d", got, inputs, embd)
	}
	// the embeddings lookup is freed by then; the inputs never are
	if got := part.devices[1].ComputeBytes; got < inputs+3*xBC+scan {
		t.Errorf("-ngl 2: CPU compute %d, want at least the inputs %d + the scan %d + three xBC copies of %d", got, inputs, scan, xBC)
	}
}
