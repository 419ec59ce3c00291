package estimate

import (
	"fmt"
	"sort"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Ollama's scheduler decides which layers go to which GPU itself (llm/server.go
// of Ollama v0.17.4: createLayout → buildLayout → assignLayers → findBestFit →
// greedyFit) and hands the runner that list; llama.cpp's own split by free
// memory never runs under Ollama. This file replays that layout for both
// runners, with the memory each one plans with:
//
//   - the llama.cpp runner (llamaServer.Load): Ollama's up-front estimate —
//     per block the tensor bytes plus fs/ggml GraphSize's KV, the output layer,
//     one block's size held back on every GPU, and the graph of GraphSize's
//     per-architecture formulas on every GPU the layout uses;
//   - Ollama's engine (ollamaServer.Load): what its runner reports for each
//     tried layout (fitbench's own per-device memory), iterated as Load does
//     until a layout repeats or stops shrinking.
//
// Every GPU keeps OllamaMinimumFree (+ OLLAMA_GPU_OVERHEAD) free and its graph:
// what is left is the space for layers; a GPU whose space is 0 gets no layer
// even when num_gpu asks for more.

// OllamaMinimumFree is what Ollama keeps free on every GPU before placing
// layers: ml/device.go DeviceInfo.MinimumMemory (457 MiB; 512 MiB on Metal).
const OllamaMinimumFree = 457 << 20

// ollamaMinimumFreeMetal is MinimumMemory for Apple GPUs (library Metal).
const ollamaMinimumFreeMetal = 512 << 20

// OllamaFit is the layout Ollama's scheduler picks by itself (no num_gpu).
type OllamaFit struct {
	// NumGPU is the number of layers it offloads ("offloaded N/M layers to
	// GPU"; the output layer counts as one).
	NumGPU int `json:"num_gpu"`
	// GPULayers is the layer count per GPU, in the target's order.
	GPULayers []int `json:"gpu_layers"`
	// VRAMBytes is what `ollama ps` will report as size_vram for that layout
	// on the llama.cpp runner (Ollama's own estimate; on its engine the runner's
	// measured buffers, which this report's devices are).
	VRAMBytes uint64 `json:"vram_bytes,omitempty"`
	// PlanVRAMBytes is size_vram for this report's own plan (its num_gpu).
	PlanVRAMBytes uint64 `json:"plan_vram_bytes,omitempty"`
	Note          string `json:"note"`
}

// olEntry is one element of Ollama's GPULayersList: a GPU (target index) and
// the layers (0..n_layer; n_layer = the output layer) it holds.
type olEntry struct {
	gpu    int
	layers []int
}

type olLayout []olEntry

func (l olLayout) sum() int {
	n := 0
	for _, e := range l {
		n += len(e.layers)
	}
	return n
}

// key identifies a layout like GPULayersList.Hash (entries with layers only).
func (l olLayout) key() string {
	s := ""
	for _, e := range l {
		if len(e.layers) > 0 {
			s += fmt.Sprintf("%d:%v;", e.gpu, e.layers)
		}
	}
	return s
}

// counts is the layer count per GPU (target order).
func (l olLayout) counts(nGPU int) []int {
	out := make([]int, nGPU)
	for _, e := range l {
		out[e.gpu] += len(e.layers)
	}
	return out
}

// olMemory is what a layout is built from (ml.BackendMemory as buildLayout
// reads it): the bytes of every layer wherever it is, and per GPU whether the
// runner reports it and the graph it holds.
type olMemory struct {
	layers []uint64
	found  []bool
	graph  []uint64
}

// olGPU is a GPU as buildLayout sees it: target index and free bytes.
type olGPU struct {
	idx  int
	free uint64
}

// ollamaReserve is what buildLayout keeps free on every GPU besides its
// graph: MinimumMemory (+ OLLAMA_GPU_OVERHEAD, 0 unless set). fitbench's
// GPU.OverheadBytes (the CUDA context) is already out of the free memory
// Ollama reads from the device.
func ollamaReserve(t Target) uint64 {
	if t.Unified { // Apple: library Metal
		return ollamaMinimumFreeMetal
	}
	return OllamaMinimumFree + 0 // + OLLAMA_GPU_OVERHEAD (envconfig), 0 by default
}

// ollamaFree is the free memory Ollama reads from each GPU: the driver's
// figure before its runner creates a context (discover/, refreshed by the
// scheduler), i.e. the GPU's free memory itself — unlike llama.cpp's own fit,
// which measures after its context exists (deviceFree). Ollama's reserve
// stands for that context.
func ollamaFree(gpus []GPU) []uint64 {
	out := make([]uint64, len(gpus))
	for i, g := range gpus {
		out[i] = gpuFree(g)
	}
	return out
}

// olForceLimit: a forced num_gpu whose layers need this many times a GPU's
// space is treated as one Ollama never finishes placing. Ollama spins at 16×
// (olFindBestFit); fitbench's memory for Ollama's engine is an estimate of
// what its runner reports (within ±3% on the rig), so 8× keeps a factor of
// two away from the spin.
const olForceLimit = 8

// ollamaBuildLayout is buildLayout + assignLayers for one library, no
// requireFull (no other model loaded), no backoff: GPUs sorted by free memory,
// largest first; each keeps its reserve and graph; layers packed onto as few
// GPUs as possible, from the last layer down; when not everything fits the
// output layer is left out and the blocks are tried alone.
//
// hang reports that Ollama would never return: see olFindBestFit.
func ollamaBuildLayout(free []uint64, reserve uint64, mem olMemory, numGPU int) (l olLayout, hang bool) {
	gl := make([]olGPU, len(free))
	for i, f := range free {
		gl[i] = olGPU{i, f}
	}
	// sort.Sort(sort.Reverse(ByFreeMemory)): insertion sort for so few GPUs, stable
	sort.SliceStable(gl, func(a, b int) bool { return gl[a].free > gl[b].free })
	lastUsed := 0
	for i := range gl {
		j := gl[i].idx
		if j >= len(mem.found) || !mem.found[j] {
			gl[i].free = 0 // the runner doesn't report this GPU
			continue
		}
		if mem.graph[j] != 0 {
			lastUsed = i
		}
		reserved := reserve + mem.graph[j]
		if gl[i].free > reserved {
			gl[i].free -= reserved
		} else {
			gl[i].free = 0
		}
	}
	return olAssignLayers(mem.layers, gl, numGPU, lastUsed)
}

// olAssignLayers is assignLayers (requireFull false, OLLAMA_SCHED_SPREAD unset).
func olAssignLayers(layers []uint64, gpus []olGPU, requested, lastUsed int) (olLayout, bool) {
	var out olLayout
	for range 2 {
		requested = min(len(layers), requested)
		for i := lastUsed; i < len(gpus); i++ {
			force := i == len(gpus)-1
			var hang bool
			out, hang = olFindBestFit(layers, gpus[:i+1], requested, force)
			if hang {
				return out, true
			}
			if out.sum() == len(layers) || out.sum() == requested {
				break
			}
		}
		if out.sum() == len(layers) {
			return out, false
		}
		layers = layers[:len(layers)-1]
	}
	return out, false
}

// olFindBestFit binary-searches the smallest capacity factor (float32, as
// Ollama) that still places the most layers: layers spread in proportion to
// each GPU's space. A requested count on the last try pretends 1000× the space.
//
// The search runs while high − low > 1e-6 in float32. Above 16 float32's step
// is larger than that, so when forcing num_gpu needs 16× or more of a GPU's
// space, (low + high) / 2 equals low or high and the loop never ends: the
// rig's Ollama v0.17.4 spins in its scheduler and the request never returns
// (seen: 2 MiB of layer space, num_gpu 9 on a 110 MB model). hang is true then.
func olFindBestFit(layers []uint64, gpus []olGPU, requested int, force bool) (olLayout, bool) {
	var high, low float32 = 1, 0
	if requested >= 0 && force {
		high = 1000
	}
	best := olGreedyFit(layers, gpus, high, requested)
	most := best.sum()
	for high-low > 1e-6 {
		mid := (low + high) / 2
		if mid == low || mid == high || (force && low >= olForceLimit) {
			return best, true
		}
		a := olGreedyFit(layers, gpus, mid, requested)
		if a.sum() == most {
			high, best = mid, a
		} else {
			low = mid
		}
	}
	return best, false
}

// olGreedyFit fills the last (smallest) GPU of the list with layers from the
// back of the model, then the next one.
func olGreedyFit(layers []uint64, gpus []olGPU, capacity float32, requested int) olLayout {
	dev := len(gpus) - 1
	out := olLayout{{gpu: gpus[dev].idx}}
	space := uint64(float32(gpus[dev].free) * capacity)
	for i := len(layers) - 1; i >= 0; i-- {
		if requested >= 0 && len(layers)-1-i >= requested {
			break
		}
		for {
			if layers[i] <= space {
				out[0].layers = append([]int{i}, out[0].layers...)
				space -= layers[i]
				break
			}
			dev--
			if dev < 0 {
				return out
			}
			out = append(olLayout{{gpu: gpus[dev].idx}}, out...)
			space = uint64(float32(gpus[dev].free) * capacity)
		}
	}
	return out
}

// planOllamaLayout is the memory of a layout as the runner allocates it: the
// runner is given only the GPUs the layout uses, in layer order, with the
// layer counts as the tensor split (runner/llamarunner/runner.go; Ollama's
// engine assigns the same layers), so it is llama.cpp's plan on those GPUs.
func planOllamaLayout(in Input, l olLayout) llamaPlan {
	n := l.sum()
	if n == 0 {
		// num_gpu 0: the scheduler gives the runner no GPU at all
		// (server/sched.go: NumGPU == 0 → gpus = []), so no GPU library is
		// loaded (ml.LibraryPaths of none) and everything runs on the CPU.
		return cpuFallback(in)
	}
	var used []int
	q := in
	q.Target.GPUs = nil
	sorted := append(olLayout(nil), l...)
	sort.SliceStable(sorted, func(a, b int) bool { return first(sorted[a]) < first(sorted[b]) })
	for _, e := range sorted {
		if len(e.layers) == 0 {
			continue
		}
		g := in.Target.GPUs[e.gpu]
		g.Split = float64(len(e.layers))
		q.Target.GPUs = append(q.Target.GPUs, g)
		used = append(used, e.gpu)
	}
	// Ollama's engine: its scheduler lists the GPUs holding weights in
	// device order (ml/backend/ggml/ggml.go New), so the GPU that takes the
	// ops on host weights (op_offload) is the used GPU first in the target,
	// which need not hold the first layers.
	offload := 0
	if path, _ := enginePath(in.Engine, in.Summary, profileFor(in.Summary), in.ProjectorBytes > 0); path == PathOllamaEngine {
		for k, gi := range used {
			if gi < used[offload] {
				offload = k
			}
		}
	}
	p := planLlamaSched(q, n, nil, offload)
	devs := make([]Device, len(in.Target.GPUs)+1)
	for i, g := range in.Target.GPUs {
		devs[i] = Device{Name: fmt.Sprintf("GPU%d", i), CapacityBytes: gpuFree(g)}
	}
	for k, gi := range used {
		d := p.devices[k]
		d.Name = fmt.Sprintf("GPU%d", gi)
		devs[gi] = d
	}
	devs[len(devs)-1] = p.devices[len(p.devices)-1]
	p.devices = devs
	return p
}

func first(e olEntry) int {
	if len(e.layers) == 0 {
		return 1 << 30
	}
	return e.layers[0]
}

// ollamaEngineMemory is what Ollama's engine runner reports for a layout
// (ml/backend/ggml: per-layer weights and cache, the graph of every GPU in
// the layout), from fitbench's plan of that layout; ok says whether it fits
// the GPUs (the alloc operation's success).
func ollamaEngineMemory(in Input, l olLayout) (olMemory, llamaPlan, bool) {
	p := planOllamaLayout(in, l)
	nG := len(in.Target.GPUs)
	m := olMemory{layers: p.layerSizes, found: make([]bool, nG), graph: make([]uint64, nG)}
	ok := true
	inLayout := make([]bool, nG)
	for _, e := range l {
		inLayout[e.gpu] = true
	}
	for i := 0; i < nG; i++ {
		m.found[i] = true
		d := p.devices[i]
		if inLayout[i] {
			m.graph[i] = d.ComputeBytes
		}
		if d.TotalBytes-d.OverheadBytes > deviceFree(in.Target.GPUs[i]) {
			ok = false
		}
	}
	return m, p, ok
}

// ollamaEngineLayout replays ollamaServer.Load: the first layout puts every
// layer on the largest GPU (nothing is known yet); each fit reports the
// memory, a new layout is built from it and tried while it is new and holds
// no more layers; when it would hold more than one layer more, the counts in
// between are tried; the fit and the alloc operations each run this loop.
func ollamaEngineLayout(in Input, numGPU int) (olLayout, llamaPlan, bool) {
	free, res := ollamaFree(in.Target.GPUs), ollamaReserve(in.Target)
	zero := olMemory{layers: make([]uint64, in.Summary.BlockCount+1)}
	gl, hang := ollamaBuildLayout(free, res, zero, numGPU)
	if hang {
		return gl, planOllamaLayout(in, gl), true
	}
	past := map[string]bool{}
	var p llamaPlan
	for op := 0; op < 2; op++ { // LoadOperationFit, LoadOperationAlloc
		for iter := 0; iter < 64; iter++ { // Ollama has no bound; a cycle stops here
			var mem olMemory
			var ok bool
			mem, p, ok = ollamaEngineMemory(in, gl)
			ok = ok || op == 0 // the fit operation allocates nothing
			past[gl.key()] = true
			next, hang := ollamaBuildLayout(free, res, mem, numGPU)
			if hang {
				return next, p, true
			}
			if !past[next.key()] && next.sum() <= gl.sum() {
				gl = next
				continue
			}
			if numGPU < 0 && next.sum()-gl.sum() > 1 {
				found := false
				for i := next.sum() - 1; i >= gl.sum() && !found; i-- {
					try, _ := ollamaBuildLayout(free, res, mem, i)
					tm, tp, tok := ollamaEngineMemory(in, try)
					verify, _ := ollamaBuildLayout(free, res, tm, numGPU)
					if (tok || op == 0) && try.sum() <= verify.sum() {
						gl, p, found = try, tp, true
						clear(past)
					}
				}
				if found {
					break
				}
			}
			_ = ok // a failed alloc makes Ollama retry with a backoff fitbench does not model
			break
		}
	}
	return gl, p, false
}

// ollamaRunnerEstimate is Ollama's own estimate for its llama.cpp runner
// (llamaServer.Load): per layer the block's tensor bytes plus GraphSize's KV,
// the output layer (output_norm + output, or token_embd when tied), and the
// graph for a GPU at partial and at full offload.
func ollamaRunnerEstimate(in Input) (layers []uint64, kv0 uint64, partial, full uint64) {
	s := in.Summary
	ctx := uint64(defaultContext(s, in.Context))
	if s.ContextLength > 0 {
		ctx = min(ctx, uint64(s.ContextLength))
	}
	batch := uint64(512)
	if in.NUbatch > 0 {
		batch = uint64(in.NUbatch)
	}
	batch = min(batch, ctx) // opts.NumBatch = min(NumBatch, NumCtx)
	ctxAll := ctx * uint64(max(in.Parallel, 1))
	bpe := map[string]float64{"q8_0": 1, "q4_0": 0.5, "f32": 4}[cacheType(in.CacheType)]
	if bpe == 0 {
		bpe = 2
	}
	nL := s.BlockCount
	layers = make([]uint64, nL+1)
	var kvTotal uint64
	for i := 0; i < nL; i++ {
		var kv uint64
		if h := headKV(s, i); h > 0 && s.HeadCount > 0 {
			kv = uint64(float64(ctxAll*uint64(keyLen(s)+valLen(s))*uint64(h)) * bpe)
		}
		if i == 0 {
			kv0 = kv
		}
		kvTotal += kv
		if i < len(s.LayerBytes) {
			layers[i] = s.LayerBytes[i]
		}
		layers[i] += kv
	}
	layers[nL] = s.OutputBytes
	if s.OutputTied {
		layers[nL] += s.TokenEmbdBytes
	}
	partial, full = ollamaGraphSize(s, ctxAll, batch)
	if partial == 0 {
		// GraphSize's default for architectures without a formula
		hkv := uint64(minHeadKV(s))
		if hkv == 0 {
			hkv = 1
		}
		partial = uint64(s.HeadCount) / hkv * kvTotal / 6
	}
	if full == 0 {
		full = partial
	}
	return layers, kv0, partial, full
}

func minHeadKV(s gguf.Summary) int {
	m := -1
	for i := 0; i < s.BlockCount; i++ {
		if h := headKV(s, i); m < 0 || h < m {
			m = h
		}
	}
	return max(m, 0)
}

// ollamaGraphFormula is one architecture's case of fs/ggml GraphSize: the
// graph Ollama reserves on a GPU at partial and at full offload.
type ollamaGraphFormula func(e, heads, headsKV, headK, vocab, ctx, batch uint64) (partial, full uint64)

// ollamaGraphFormulas are the GraphSize cases fitbench reproduces (dense
// llama and qwen2, exactly as written there); other architectures on the
// llama.cpp runner fall back to its default (heads/kv_heads × KV / 6), which
// for those with a case of their own is approximate.
var ollamaGraphFormulas = map[string]ollamaGraphFormula{
	"llama": func(e, heads, headsKV, headK, vocab, ctx, batch uint64) (uint64, uint64) {
		embHeads := e / heads
		full := max(4*batch*(1+4*e+ctx*(1+heads)), 4*batch*(e+vocab))
		partial := 4 * batch * e
		partial += max(
			4*batch*(1+e+max(ctx, e))+e*e*9/16+4*ctx*(batch*heads+embHeads*headsKV),
			4*batch*(e+vocab)+e*vocab*105/128,
		)
		return partial, full
	},
	"qwen2": func(e, heads, headsKV, headK, vocab, ctx, batch uint64) (uint64, uint64) {
		full := max(4*batch*(e+vocab), 4*batch*(1+2*e+ctx+ctx*heads))
		partial := max(4*batch*(e+vocab)+e*vocab*105/128, 4*(batch*(1+2*e+ctx*(1+heads))+e*(1+ctx)))
		return partial, full
	},
}

func ollamaGraphSize(s gguf.Summary, ctx, batch uint64) (partial, full uint64) {
	f, ok := ollamaGraphFormulas[s.Architecture]
	if !ok || s.ExpertCount > 0 || s.HeadCount == 0 {
		return 0, 0
	}
	hkv := 0
	for i := 0; i < s.BlockCount; i++ {
		hkv = max(hkv, headKV(s, i))
	}
	return f(uint64(s.EmbeddingLength), uint64(s.HeadCount), uint64(hkv), uint64(keyLen(s)), uint64(s.VocabSize), ctx, batch)
}

// ollamaRunnerLayout replays llamaServer.Load's layout: every GPU first loses
// one block (blk.0 + its KV) as a buffer; layouts are rebuilt while they use
// more GPUs, each GPU of the layout holding max(partial, full) graph.
func ollamaRunnerLayout(in Input, numGPU int) (olLayout, uint64, bool) {
	layers, kv0, partial, full := ollamaRunnerEstimate(in)
	free := ollamaFree(in.Target.GPUs)
	var buffer uint64
	if len(in.Summary.LayerBytes) > 0 {
		buffer = in.Summary.LayerBytes[0] + kv0
	}
	for i := range free {
		free[i] -= min(free[i], buffer)
	}
	mem := olMemory{layers: layers, found: make([]bool, len(free)), graph: make([]uint64, len(free))}
	for i := range mem.found {
		mem.found[i] = true
	}
	var gl olLayout
	for {
		prev := len(gl)
		var hang bool
		gl, hang = ollamaBuildLayout(free, ollamaReserve(in.Target), mem, numGPU)
		if hang {
			return gl, 0, true
		}
		if len(gl) <= prev {
			break
		}
		for _, e := range gl {
			mem.graph[e.gpu] = max(partial, full)
		}
	}
	graph := full
	if gl.sum() < len(layers) {
		graph = partial
	}
	// VRAMSize (size_vram) sums every GPU's memory record: the GPUs of the
	// final layout carry graphSize, a GPU that an earlier pass of the loop
	// used keeps the max(partial, full) it was given (seen: 75 MB on an
	// unused GPU)
	var vram uint64
	inFinal := make([]bool, len(free))
	for _, e := range gl {
		inFinal[e.gpu] = true
		for _, l := range e.layers {
			vram += layers[l]
		}
	}
	for j := range free {
		if inFinal[j] {
			vram += graph
		} else {
			vram += mem.graph[j]
		}
	}
	return gl, vram, false
}

// ollamaLayout is the layout Ollama gives num_gpu (−1 = its own choice) on
// in's GPUs, the plan (memory per device) of it, size_vram, and whether
// Ollama would hang on it (olFindBestFit).
func ollamaLayout(in Input, numGPU int) (olLayout, llamaPlan, uint64, bool) {
	path, _ := enginePath(in.Engine, in.Summary, profileFor(in.Summary), in.ProjectorBytes > 0)
	if path == PathOllamaEngine {
		l, p, hang := ollamaEngineLayout(in, numGPU)
		// llmServer.VRAMSize: every GPU's weights, cache and graph; with no
		// layer left on the CPU also the token embedding and the CPU graph
		var vram uint64
		for i := range in.Target.GPUs {
			vram += p.devices[i].TotalBytes - p.devices[i].OverheadBytes
		}
		if l.sum() == in.Summary.BlockCount+1 {
			cpu := p.devices[len(p.devices)-1]
			vram += cpu.WeightsBytes + cpu.ComputeBytes
		}
		if l.sum() == 0 {
			vram = 0
		}
		return l, p, vram, hang
	}
	l, vram, hang := ollamaRunnerLayout(in, numGPU)
	if numGPU == 0 {
		vram = 0 // no GPU given to the runner (server/sched.go)
	}
	return l, planOllamaLayout(in, l), vram, hang
}

// predictOllamaFit is Report.OllamaFit: Ollama's own layout without num_gpu.
func predictOllamaFit(in Input) *OllamaFit {
	if len(in.Target.GPUs) == 0 {
		return nil
	}
	l, _, vram, _ := ollamaLayout(in, -1) // no num_gpu: the search stays in [0, 1], no hang
	f := &OllamaFit{NumGPU: l.sum(), GPULayers: l.counts(len(in.Target.GPUs)), VRAMBytes: vram}
	f.Note = fmt.Sprintf("Ollama keeps %d MiB free per GPU (its minimum) besides the graph and packs layers onto as few GPUs as it can", OllamaMinimumFree>>20)
	path, _ := enginePath(in.Engine, in.Summary, profileFor(in.Summary), in.ProjectorBytes > 0)
	s := in.Summary
	if _, ok := ollamaGraphFormulas[s.Architecture]; path == PathOllamaLlamaCpp && (!ok || s.ExpertCount > 0) {
		f.Note += fmt.Sprintf("; approximate: Ollama's own graph estimate for %s (fs/ggml GraphSize) is not reproduced, its default is used", s.Architecture)
	}
	return f
}
