package estimate

import (
	"fmt"
	"strconv"

	"github.com/fitbench/fitbench/internal/gguf"
)

// FitOverride is one tensor buffer-type override llama_params_fit wrote: the
// tensors whose name matches Pattern (std::regex_search) go to Buft — "CPU"
// (system RAM) or "GPU<n>" (the next GPU, when a device's layers overflow).
type FitOverride struct {
	Pattern string `json:"pattern"`
	Buft    string `json:"buft"`
}

// layerFraction is llama_params_fit's layer_fraction_t (src/llama.cpp): which
// part of a block overflows to the next device.
type layerFraction int

const (
	fracAttn layerFraction = 1 // everything but attention: ffn_(up|gate|down).*
	fracUp   layerFraction = 2 // attention + up stay: ffn_(gate|down).*
	fracGate layerFraction = 3 // attention + up + gate stay: ffn_down.*
	fracMoE  layerFraction = 4 // everything but the sparse experts: ffn_(up|down|gate)_(ch|)exps
)

// overflowPattern is get_overflow_pattern of llama_params_fit_impl.
func overflowPattern(il int, lf layerFraction) string {
	b := `blk\.` + strconv.Itoa(il) + `\.`
	switch lf {
	case fracAttn:
		return b + `ffn_(up|gate|down).*`
	case fracUp:
		return b + `ffn_(gate|down).*`
	case fracGate:
		return b + `ffn_down.*`
	}
	return b + `ffn_(up|down|gate)_(ch|)exps`
}

// nglT is llama_params_fit_impl's ngl_t: a device's layers, how many of them
// are partial (their overflow part on the next device / system RAM) and the
// fraction that overflows for the first partial one (the rest: experts).
type nglT struct {
	n, part uint32
	of      layerFraction
}

// overflowBytes is what pattern lf moves out of block il. The file summary
// has per block the expert bytes (gate, up and down exps are one shape:
// thirds); the shared experts, the router and a dense FFN are estimated from
// the hyperparameters at the non-expert weights' bytes per weight (that of
// token_embd) and F32 for the router (ffn_gate_inp, kept F32 by the
// converters).
func overflowBytes(s gguf.Summary, il int, lf layerFraction) uint64 {
	e := s.ExpertLayerBytes[il]
	if lf == fracMoE {
		return e
	}
	bpw := 2.0
	if s.VocabSize > 0 && s.EmbeddingLength > 0 && s.TokenEmbdBytes > 0 {
		bpw = float64(s.TokenEmbdBytes) / float64(s.VocabSize*s.EmbeddingLength)
	}
	emb := float64(s.EmbeddingLength)
	var gate, up, down float64 // the non-expert FFN matrices of the block
	if e > 0 {
		sh := float64(s.Arch.ExpertSharedFFLength)
		if sh == 0 {
			sh = float64(s.Arch.ExpertSharedCount * s.Arch.ExpertFFLength)
		}
		gate, up, down = emb*sh*bpw+emb*float64(s.ExpertCount)*4, emb*sh*bpw, emb*sh*bpw
	} else {
		ff := float64(s.FeedForwardLength)
		gate, up, down = emb*ff*bpw, emb*ff*bpw, emb*ff*bpw
	}
	x := float64(e) / 3
	switch lf {
	case fracAttn:
		return uint64(3*x + gate + up + down)
	case fracUp:
		return uint64(2*x + gate + down)
	default: // fracGate
		return uint64(x + down)
	}
}

// overflowMatches: whether weight t's tensor name matches the overflow
// pattern of fraction lf (overflowPattern, std::regex_search): the experts
// for MoE; ffn_(up|gate|down).* every FFN weight (router, shared experts,
// biases); ffn_(gate|down).* all but the up matrices; ffn_down.* the down
// matrices.
func overflowMatches(lf layerFraction, t *gtensor) bool {
	switch lf {
	case fracMoE:
		return t.expert
	case fracAttn:
		return t.ffn != ffnNone
	case fracUp:
		return t.ffn == ffnGate || t.ffn == ffnDown || t.ffn == ffnRouter
	default: // fracGate
		return t.ffn == ffnDown
	}
}

// moeFitMemory is llama_get_device_memory_data for one configuration of the
// MoE fit: -ngl the layer sum (+1, the output layer on the last GPU, when
// addOut), -ts the layer counts, and for each device its last `part` layers
// partial — the overflow part of the first one and the experts of the others
// on the next GPU (system RAM for the last GPU). Per GPU: weights + KV +
// compute, from the scheduler replay with the overflowing experts placed on
// their device (planLlamaPlaced: overrides turn pipeline parallelism off, the
// offloaded expert matmuls copy host experts into GPU0's buffer).
func moeFitMemory(in Input, nCtx int, cfg []nglT, addOut bool) []int64 {
	s := in.Summary
	nd := len(cfg)
	nL := s.BlockCount
	var sum uint32
	for _, c := range cfg {
		sum += c.n
	}
	ngl := int(int32(sum))
	shares := make([]float64, nd)
	for i, c := range cfg {
		shares[i] = float64(c.n)
	}
	if addOut {
		ngl++
		shares[nd-1]++
	}
	q := in
	q.Parallel = max(in.Parallel, 1)
	q.Context = max(nCtx/q.Parallel, 1)
	q.Target.GPUs = make([]GPU, nd)
	anyShare := false
	for _, v := range shares {
		anyShare = anyShare || v > 0
	}
	for i, g := range in.Target.GPUs {
		sh := shares[i]
		if !anyShare {
			sh = 1
		}
		q.Target.GPUs[i] = GPU{Name: g.Name, FreeBytes: 1 << 40, VRAMBytes: 1 << 40, OverheadBytes: 1, Split: sh}
	}
	// where each partial block's overflowing tensors go: the scheduler
	// replay places exactly those weights there (the pattern's match by
	// tensor name, overflowMatches)
	type over struct {
		dev int
		lf  layerFraction
	}
	ov := make([]over, nL)
	for il := range ov {
		ov[il].dev = -1
	}
	il0 := nL - min(int(sum), nL)
	overrides := false
	for id, c := range cfg {
		il0 += int(c.n) - int(c.part)
		for il := max(il0, 0); il < il0+int(c.part) && il < nL; il++ {
			lf := fracMoE
			if il == il0 {
				lf = c.of
			}
			ov[il] = over{id + 1, lf} // the next GPU, or system RAM after the last
			overrides = true
		}
		il0 += int(c.part)
	}
	var place func(t *gtensor) int
	if overrides {
		place = func(t *gtensor) int {
			if t.layer < 0 || t.layer >= nL || ov[t.layer].dev < 0 || !overflowMatches(ov[t.layer].lf, t) {
				return -1
			}
			return ov[t.layer].dev
		}
	}
	p := planLlamaPlaced(q, min(max(ngl, 0), nL+1), place)
	devs := p.devices
	il0 = nL - min(int(sum), nL)
	for id, c := range cfg {
		il0 += int(c.n) - int(c.part)
		for il := il0; il < il0+int(c.part) && il < nL; il++ {
			lf := fracMoE
			if il == il0 {
				lf = c.of
			}
			b := overflowBytes(s, il, lf)
			devs[id].WeightsBytes -= min(b, devs[id].WeightsBytes)
			devs[id+1].WeightsBytes += b
		}
		il0 += int(c.part)
	}
	used := make([]int64, nd)
	for i := range used {
		used[i] = int64(devs[i].WeightsBytes + devs[i].KVBytes + devs[i].ComputeBytes)
	}
	return used
}

// fitMoE is steps 3 and 4 of llama_params_fit_impl for a model with experts
// (src/llama.cpp of the llama.cpp Ollama v0.17.4 vendors), replayed on
// fitbench's memory model with the source's uint32 arithmetic:
//
//   - first the memory with every expert tensor in system RAM
//     ("blk\.\d+\.ffn_(up|down|gate)_(ch|)exps" = CPU, every layer and the
//     output offloaded): when its total surplus over the margins is positive,
//     the output layer goes to the last GPU in every later configuration
//     (add_nonrepeating = partial_moe);
//   - step 3: "dense-only" layers (experts overflowing to the next device,
//     system RAM after the last) fill the GPUs back to front by the method of
//     false position;
//   - step 4 (only with that surplus): front to back, each GPU converts
//     dense-only layers of the devices behind it into full layers while it
//     stays under its target, then tries one more layer with only gate and
//     down (UP), then only down (GATE) overflowing — or, when UP does not fit,
//     the whole FFN (ATTN);
//   - set_ngl_tensor_split_tbo: -ngl = the layer sum (+1), -ts the counts, and
//     one override per partial layer: a device's partial layers are its last
//     ones, so the experts of the model's LAST blocks go to system RAM (the
//     opposite of --n-cpu-moe, which takes the first).
func fitMoE(in Input, out LlamaFit, free []int64, margin int64) LlamaFit {
	// all experts in system RAM, everything else offloaded
	var surplusCPUMoE int64
	for id, u := range moeAllExpertsOnCPU(in, out.NCtx) {
		surplusCPUMoE += free[id] - u - margin
	}
	// llama_params_fit probes some configurations more than once (every
	// probe of a loop that never ends is the same one) and each probe here
	// builds and schedules two graphs, so the answers are kept per
	// configuration: DeepSeek-V3 on two GPUs, 4.8 s → 0.6 s per analysis.
	seen := map[string][]int64{}
	mem := func(cfg []nglT, addOut bool) []int64 {
		k := fmt.Sprint(cfg, addOut)
		if m, ok := seen[k]; ok {
			return append([]int64(nil), m...)
		}
		m := moeFitMemory(in, out.NCtx, cfg, addOut)
		seen[k] = append([]int64(nil), m...)
		return m
	}
	return replayMoEFit(out, in.Summary.BlockCount, free, margin, surplusCPUMoE, mem)
}

// replayMoEFit is steps 3 and 4 given the memory of each probe (mem: bytes
// per GPU of a configuration) and the surplus with every expert in RAM.
func replayMoEFit(out LlamaFit, nLayer int, free []int64, margin, surplusCPUMoE int64, probe func([]nglT, bool) []int64) LlamaFit {
	nd := len(free)
	nL := uint32(nLayer)
	steps := 0
	mem := func(cfg []nglT, addOut bool) []int64 {
		steps++
		return probe(cfg, addOut)
	}
	hung := func() LlamaFit {
		out.Aborted = fmt.Sprintf("llama_params_fit does not converge (stopped the replay after %d memory probes)", steps)
		out.Note = "llama-server would not finish starting with its automatic fit: pass -ngl (or -fit off)"
		return out
	}

	partialMoE := surplusCPUMoE > 0
	targets := make([]int64, nd)
	for id := range targets {
		targets[id] = free[id] - margin
	}

	cfg := make([]nglT, nd)
	for i := range cfg {
		cfg[i].of = fracMoE
	}
	cur := mem(cfg, partialMoE)
	clone := func(c []nglT) []nglT { return append([]nglT(nil), c...) }

	// step 3: dense-only layers back to front
	unassigned := nL
	for id := nd - 1; id >= 0; id-- {
		high := clone(cfg)
		high[id].n = unassigned
		high[id].part = high[id].n
		if high[id].n > 0 {
			memHigh := mem(high, partialMoE)
			if memHigh[id] > targets[id] {
				delta := high[id].n - cfg[id].n
				for delta > 1 {
					if steps > maxFitSteps {
						return hung()
					}
					step := falsePositionStep(delta, targets[id], cur[id], memHigh[id])
					test := clone(cfg)
					test[id].n += step
					test[id].part += step
					memTest := mem(test, partialMoE)
					if memTest[id] <= targets[id] {
						cfg, cur = test, memTest
						unassigned -= cfg[id].n
					} else {
						high, memHigh = test, memTest
					}
					delta = high[id].n - cfg[id].n
				}
			} else {
				cfg = high // mem is left as it was, as in the source
				unassigned -= cfg[id].n
			}
		}
	}
	if !partialMoE {
		return finishMoEFit(out, cfg, nd, partialMoE, nLayer)
	}

	// step 4: convert dense-only layers to full layers front to back
	idDenseStart := nd
	for id := nd - 1; id >= 0; id-- {
		if cfg[id].n > 0 {
			idDenseStart = id
			continue
		}
		break
	}
	if idDenseStart >= nd {
		return finishMoEFit(out, cfg, nd, partialMoE, nLayer)
	}
	for id := 0; id <= idDenseStart; id++ {
		high := clone(cfg)
		for jd := idDenseStart; jd < nd; jd++ {
			move := high[jd].n
			high[id].n += move
			high[jd].n -= move
			high[jd].part = 0
		}
		memHigh := mem(high, partialMoE)
		if memHigh[id] > targets[id] {
			delta := (high[id].n - high[id].part) - (cfg[id].n - cfg[id].part)
			for delta > 1 {
				if steps > maxFitSteps {
					return hung()
				}
				step := falsePositionStep(delta, targets[id], cur[id], memHigh[id])
				test := clone(cfg)
				ds := idDenseStart
				var converted uint32
				for ; ds < nd; ds++ {
					c := min(step-converted, test[ds].part)
					test[ds].n -= c
					test[ds].part -= c
					test[id].n += c
					converted += c
					if test[ds].n > 0 {
						break
					}
				}
				memTest := mem(test, partialMoE)
				if memTest[id] <= targets[id] {
					cfg, cur, idDenseStart = test, memTest, ds
				} else {
					high, memHigh = test, memTest
				}
				delta = (high[id].n - high[id].part) - (cfg[id].n - cfg[id].part)
			}
		} else {
			cfg = high // mem is left as it was, as in the source
			idDenseStart = nd - 1
		}

		// try to fit at least part of one more layer
		if idDenseStart < nd && cfg[idDenseStart].n > 0 {
			test := clone(cfg)
			ds := idDenseStart
			test[ds].n--
			test[ds].part--
			test[id].n++
			test[id].part++
			if test[ds].n == 0 {
				ds++
			}
			test[id].of = fracUp
			memTest := mem(test, partialMoE)
			if memTest[id] < targets[id] {
				cfg, cur, idDenseStart = clone(test), memTest, ds
				test[id].of = fracGate
				memTest = mem(test, partialMoE)
				if memTest[id] < targets[id] {
					cfg, cur, idDenseStart = test, memTest, ds
				}
			} else {
				test[id].of = fracAttn
				memTest = mem(test, partialMoE)
				if memTest[id] < targets[id] {
					cfg, cur, idDenseStart = test, memTest, ds
				}
			}
		}
	}
	return finishMoEFit(out, cfg, nd, partialMoE, nLayer)
}

// maxFitSteps bounds the replay: the method of false position needs about
// log2(layers) memory probes per device. More means llama.cpp's own loop does
// not end either: in step 4, when the converting GPU is itself id_dense_start
// and has no dense-only layer left, a test step converts nothing, is accepted
// and delta never shrinks (seen on the rig: llama-server never finishes
// starting); or the uint32 n_unassigned wrapped and the search runs ~2^32
// probes.
const maxFitSteps = 1000

// falsePositionStep is llama_params_fit_impl's step: delta × (target − mem)
// ÷ (mem_high − mem) in int64, truncated to uint32, clamped to [1, delta−1].
func falsePositionStep(delta uint32, target, memLow, memHigh int64) uint32 {
	var q int64
	if d := memHigh - memLow; d != 0 {
		q = int64(delta) * (target - memLow) / d
	}
	step := uint32(q)
	step = max(step, 1)
	return min(step, delta-1)
}

// moeAllExpertsOnCPU is the memory of the default offload (every layer and
// the output, split by free memory) with every expert tensor in system RAM.
func moeAllExpertsOnCPU(in Input, nCtx int) []int64 {
	q := in
	q.Parallel = max(in.Parallel, 1)
	q.Context = max(nCtx/q.Parallel, 1)
	nL := in.Summary.BlockCount
	p := moveExperts(q, nL)
	used := make([]int64, len(in.Target.GPUs))
	for i := range used {
		d := p.devices[i]
		used[i] = int64(d.WeightsBytes + d.KVBytes + d.ComputeBytes)
	}
	return used
}

// finishMoEFit is set_ngl_tensor_split_tbo.
func finishMoEFit(out LlamaFit, cfg []nglT, nd int, addOut bool, nL int) LlamaFit {
	var sum uint32
	for _, c := range cfg {
		sum += c.n
	}
	il0 := nL - int(sum)
	ngl := int(int32(sum))
	ts := make([]int, nd)
	for i, c := range cfg {
		ts[i] = int(c.n)
	}
	if addOut {
		ngl++
		ts[nd-1]++
	}
	out.NGPULayers = ngl
	if nd > 1 {
		out.TensorSplit = ts
	}
	out.Overrides = nil
	var cpuExperts []int
	for id, c := range cfg {
		il0 += int(c.n) - int(c.part)
		buft := "CPU"
		if id+1 < nd {
			buft = fmt.Sprintf("GPU%d", id+1)
		}
		for il := il0; il < il0+int(c.part); il++ {
			lf := fracMoE
			if il == il0 {
				lf = c.of
			}
			out.Overrides = append(out.Overrides, FitOverride{Pattern: overflowPattern(il, lf), Buft: buft})
			if buft == "CPU" {
				cpuExperts = append(cpuExperts, il)
			}
		}
		il0 += int(c.part)
	}
	out.Note = fmt.Sprintf("%d of %d layers on the GPU(s)", min(ngl, nL), nL)
	if addOut {
		out.Note += " with the output layer"
	}
	if len(cpuExperts) > 0 {
		out.Note += fmt.Sprintf(", the experts of blocks %d–%d in system RAM", cpuExperts[0], cpuExperts[len(cpuExperts)-1])
	}
	out.Note += fmt.Sprintf(", context %d", out.NCtx)
	return out
}
