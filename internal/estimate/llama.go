package estimate

import (
	"fmt"

	"github.com/fitbench/fitbench/internal/gguf"
)

// llamaPlan is the memory of one -ngl choice for the llama.cpp family.
type llamaPlan struct {
	ngl     int
	devices []Device // GPUs first, CPU last
	flash   bool
	lay     ctxLayout
	path    string // engine path (PathOllamaEngine, …)
	prof    archProfile
	state   uint64 // recurrent state bytes inside the KV figures
	// devState is each device's part of state (llama.cpp's RS buffer on it)
	devState []uint64
	// computeSingle: for MoE models under pipeline parallelism, each
	// device's compute buffer without it (n_copies = 1), which tensor
	// overrides (-ot, --n-cpu-moe) imply.
	computeSingle []uint64
	// layerSizes is weights + KV per block and, last, the output layer's
	// weights, wherever they are placed (what Ollama's layout packs).
	layerSizes []uint64
}

// pipelineParallel is llama_context's condition (llama-context.cpp): two or
// more GPUs, every layer and the output offloaded, layer split, KV offloaded,
// no tensor overrides, and devices with async compute and events (CUDA's do;
// so does the simulated device).
func pipelineParallel(nGPU, ngl, nL int) bool {
	return nGPU >= 2 && ngl > nL
}

// defaultContext is the user's context, else min(training context, 8192).
func defaultContext(s gguf.Summary, user int) int {
	if user > 0 {
		return user
	}
	if s.ContextLength > 0 {
		return min(s.ContextLength, 8192)
	}
	return 4096
}

// layerDevice returns, for -ngl ngl over gpus with split fractions, the device
// index of block il (0..n_layer; n_layer = the output layer) or -1 for the CPU.
// It is llama.cpp's rule (llama_model::load_tensors): the last ngl blocks go to
// the GPUs; the output layer only when ngl > n_layer; token embeddings stay on
// the CPU. Layers are spread over GPUs by the cumulative split.
func layerDevice(il, nLayer, ngl int, split []float64) int {
	if len(split) == 0 || ngl <= 0 {
		return -1
	}
	start := max(nLayer-ngl, 0)
	act := min(ngl, nLayer+1)
	if il < start || il-start >= act {
		return -1
	}
	f := float64(il-start) / float64(act)
	for g, c := range split {
		if f < c {
			return g
		}
	}
	return len(split) - 1
}

// splitByFree is llama.cpp's default tensor split: proportional to free memory.
// With a --tensor-split (GPU.Split) the given shares are used instead.
func splitByFree(gpus []GPU) []float64 {
	var total float64
	for _, g := range gpus {
		total += splitWeight(g, gpus)
	}
	out := make([]float64, len(gpus))
	var acc float64
	for i, g := range gpus {
		acc += splitWeight(g, gpus)
		out[i] = acc / total
	}
	return out
}

func gpuFree(g GPU) uint64 {
	if g.FreeBytes > 0 {
		return g.FreeBytes
	}
	return g.VRAMBytes
}

func gpuOverhead(g GPU) uint64 {
	if g.OverheadBytes > 0 {
		return g.OverheadBytes
	}
	return DefaultGPUOverhead
}

// planLlama computes the per-device memory for one -ngl value, for the engine
// path that will run the model (see enginePath).
func planLlama(in Input, ngl int) llamaPlan { return planLlamaPlaced(in, ngl, nil) }

// planLlamaPlaced is planLlama with tensor overrides (-ot, --n-cpu-moe):
// place(t) is the backend of weight t of the reserve graph (the GPUs' index,
// len(GPUs) = system RAM), or -1 to leave it with its block; nil = no
// override. The scheduler replay then places the ops reading them and copies
// them where they are used; overrides turn pipeline parallelism off
// (llama-context.cpp: it needs no tensor overrides). Weights stay where
// -ngl puts them: the caller moves the overridden bytes (moveExperts).
func planLlamaPlaced(in Input, ngl int, place func(t *gtensor) int) llamaPlan {
	return planLlamaSched(in, ngl, place, 0)
}

// planLlamaSched is planLlamaPlaced with, for Ollama's engine, the index
// among in's GPUs of its scheduler's first GPU (offload: see schedConf).
func planLlamaSched(in Input, ngl int, place func(t *gtensor) int, offload int) llamaPlan {
	s := in.Summary
	prof := profileFor(s)
	path, _ := enginePath(in.Engine, s, prof, in.ProjectorBytes > 0)
	ctx := defaultContext(s, in.Context)
	if in.Engine == EngineOllama && s.ContextLength > 0 {
		ctx = min(ctx, s.ContextLength) // Ollama caps num_ctx at the training context
	}
	ub := in.NUbatch
	if ub <= 0 {
		ub = 512
	}
	if in.Engine == EngineOllama {
		ub = min(ub, ctx) // Ollama: num_batch = min(num_batch, num_ctx)
	}
	lay := layout(ctx, in.Parallel, ub)
	flash := true // llama.cpp "auto" resolves to on for CPU and current GPUs
	if path == PathOllamaEngine {
		// llm/server.go: flash attention on Ollama's engine only for the
		// architectures in GGML.FlashAttention whose K and V head sizes match
		// (GGML.SupportsFlashAttention); embedding models never.
		flash = prof.ollamaFlash && !prof.ollamaNoFlash && keyLen(s) == valLen(s) && !s.Arch.Pooling
	}
	if in.FlashAttention != nil {
		flash = *in.FlashAttention
	}
	ct := cacheType(in.CacheType)
	if ct != "f16" && !flash {
		ct = "f16" // quantized V cache needs flash attention; engines fall back
	}
	gpus := in.Target.GPUs
	split := splitByFree(gpus)
	nL := s.BlockCount
	devs := make([]Device, len(gpus)+1)
	for i, g := range gpus {
		devs[i] = Device{Name: fmt.Sprintf("GPU%d", i), CapacityBytes: gpuFree(g), OverheadBytes: gpuOverhead(g)}
	}
	cpu := len(gpus)
	devs[cpu] = Device{Name: "CPU", CapacityBytes: in.Target.RAMBytes}
	at := func(il int) int {
		d := layerDevice(il, nL, ngl, split)
		if d < 0 {
			return cpu
		}
		return d
	}
	cl := cacheBytes(in, prof, path, lay, ctx, ct, flash)
	devState := make([]uint64, len(devs))
	sizes := make([]uint64, nL+1)
	for il := 0; il < nL; il++ {
		d := at(il)
		if il < len(s.LayerBytes) {
			devs[d].WeightsBytes += s.LayerBytes[il]
			sizes[il] = s.LayerBytes[il]
		}
		if d != cpu && il < len(s.GPULayerPad) {
			devs[d].WeightsBytes += s.GPULayerPad[il] // CUDA row padding and alignment
		}
		devs[d].KVBytes += cl.perLayer[il]
		if il < len(cl.statePer) {
			devState[d] += cl.statePer[il]
		}
		if d != cpu {
			devs[d].KVBytes += cudaKVPad(s, prof, ct, il)
		}
		sizes[il] += cl.perLayer[il]
		devs[d].Layers++
	}
	sizes[nL] = s.OutputBytes
	od := at(nL)
	devs[od].WeightsBytes += s.OutputBytes
	// a GPU's buffer pads quantized rows and aligns every tensor (gguf.Summary.GPU*Pad)
	gpuPad := func(d int, pad uint64) {
		if d != cpu {
			devs[d].WeightsBytes += pad
		}
	}
	gpuPad(od, s.GPUOutputPad)
	if path == PathOllamaEngine && s.OutputTied {
		// Ollama's engine loads the output matrix from token_embd a second
		// time (`gguf:"output,alt:token_embd"`, ml/backend/ggml New creates one
		// tensor per target name) and places it with the output layer.
		devs[od].WeightsBytes += s.TokenEmbdBytes
		gpuPad(od, s.GPUTokenEmbdPad)
		sizes[nL] += s.TokenEmbdBytes
	}
	if path == PathOllamaEngine {
		// expert biases stored as BF16 are loaded as F32 (ml/backend/ggml/ggml.go)
		devs[at(0)].WeightsBytes += s.BF16ExpertBiasBytes
	}
	devs[od].Layers++
	devs[cpu].WeightsBytes += s.TokenEmbdBytes + s.OtherBytes
	if in.ProjectorBytes > 0 {
		// the vision projector (mmproj) is loaded by llama.cpp's mtmd/clip on
		// the main GPU when there is one (tools/mtmd clip.cpp, use_gpu), else
		// in host memory; a projector forces Ollama onto its llama.cpp runner.
		pd := cpu
		if len(gpus) > 0 && ngl > 0 {
			pd = 0
		}
		devs[pd].WeightsBytes += in.ProjectorBytes
	}

	// compute buffers
	shape := graphShapeFor(in, prof, path, lay, cl, flash)
	switch ct { // ggml block sizes: 34 bytes per 32 (q8_0), 18 per 32 (q4_0)
	case "q8_0":
		shape.kvBPE = 34.0 / 32
	case "q4_0":
		shape.kvBPE = 18.0 / 32
	}
	var single []uint64
	if len(gpus) > 0 {
		// ggml's scheduler places every op, copies what crosses devices and
		// sizes one buffer per device (sched.go); replayed here on the whole
		// graph, so offloaded ops, split inputs and pipeline parallelism's
		// copies are where the engine puts them.
		sc := schedConf{nGPU: len(gpus), copies: 1, fullOffload: ngl > nL, nLayer: nL, dev: func(il int) int {
			if il < 0 {
				return cpu // token_embd stays in host memory (both engines)
			}
			return at(min(il, nL))
		}}
		if path == PathOllamaEngine {
			// Ollama's engine: ggml_backend_sched_new_ext(…, parallel false,
			// op_offload true) over the GPUs that hold weights and the CPU
			// (ml/backend/ggml/ggml.go New): no pipeline copies, no pinned
			// tensors; its graph's inputs live in their own host buffers
			// (graphShape.maskF16)
			sc.engine, sc.offload = true, offload
		} else if pipelineParallel(len(gpus), ngl, nL) && place == nil {
			sc.copies = pipelineCopies
		}
		sc.tensorDev = place
		comp := scheduledCompute(shape, sc)
		for d := range devs {
			devs[d].ComputeBytes = comp[d]
		}
		if sc.copies > 1 && s.ExpertCount > 0 {
			// the -ot plans of MoE models (moeplan.go) run without pipeline
			// parallelism
			sc.copies = 1
			single = scheduledCompute(shape, sc)
		}
		if s.OutputTied && od != cpu && path != PathOllamaEngine {
			// llama_model::load_tensors creates "output" from token_embd with
			// TENSOR_DUPLICATED on the output layer's device; token_embd itself
			// stays in host memory
			devs[od].WeightsBytes += s.TokenEmbdBytes
			gpuPad(od, s.GPUTokenEmbdPad)
		}
	} else {
		// CPU only: one device runs the whole graph
		devs[cpu].ComputeBytes = deviceCompute(shape, devs[cpu].Layers, nL, true)
	}
	if path != PathOllamaEngine {
		emb := 0
		if in.Engine == EngineOllama {
			emb = s.EmbeddingLength // Ollama's runner enables embeddings output
		}
		devs[cpu].OutputBytes = uint64(s.VocabSize+emb) * uint64(lay.NSeq) * 4
	}
	// Ollama's engine has no separate output buffer: logits are a graph output.
	for i := range devs {
		d := &devs[i]
		d.TotalBytes = d.WeightsBytes + d.KVBytes + d.ComputeBytes + d.OutputBytes + d.OverheadBytes
	}
	return llamaPlan{ngl: ngl, devices: devs, flash: flash, lay: lay, path: path, prof: prof, state: cl.state, devState: devState,
		computeSingle: single, layerSizes: sizes}
}

func cacheType(t string) string {
	switch t {
	case "q8_0", "q4_0", "f32", "bf16":
		return t
	}
	return "f16"
}

func maxLayer(s gguf.Summary) uint64 {
	var m uint64
	for _, b := range s.LayerBytes {
		m = max(m, b)
	}
	return m
}

// deviceCompute replays the graph for the layers a device holds. A device
// without the output layer does not hold the logits.
func deviceCompute(shape graphShape, layers, nL int, hasOutput bool) uint64 {
	blocks := layers
	if hasOutput {
		blocks--
	}
	if blocks <= 0 && !hasOutput {
		return 0
	}
	if len(shape.headKV) == 0 {
		return 0 // no blocks at all: callers validate the summary first (gguf.Summary.Validate)
	}
	sh := shape
	n := len(sh.headKV)
	from := 0
	if blocks > 0 && blocks < n {
		from = n - blocks
	}
	if blocks <= 0 {
		from = n - 1
	}
	// per-layer arrays follow the blocks this device holds
	sh.headKV = sh.headKV[from:]
	cut := func(b []bool) []bool {
		if len(b) == n {
			return b[from:]
		}
		return b
	}
	sh.slidingLayers = cut(sh.slidingLayers)
	sh.recurrent = cut(sh.recurrent)
	sh.denseLayers = cut(sh.denseLayers)
	if len(sh.nFFLayer) == n {
		sh.nFFLayer = sh.nFFLayer[from:]
	}
	sh.outputAbsent = !hasOutput
	return computeGraphBytes(sh)
}

// cudaKVPad is what a CUDA buffer adds to block il's K and V cache tensors
// when the cache is quantized: ggml-cuda's get_alloc_size gives a tensor whose
// rows (n_embd_k_gqa / n_embd_v_gqa elements) are not a multiple of
// MATRIX_ROW_PADDING the rest of one row, and each tensor starts at
// CUDA_ALIGNMENT (128 bytes). F16/F32 caches and recurrent state get none.
func cudaKVPad(s gguf.Summary, p archProfile, ct string, il int) uint64 {
	var bpe float64
	switch ct {
	case "q8_0":
		bpe = 34.0 / 32
	case "q4_0":
		bpe = 18.0 / 32
	default:
		return 0
	}
	hkv := headKV(s, il)
	if hkv == 0 || p.mla {
		return 0
	}
	var pad uint64
	for _, ne0 := range []int{hkv * keyLen(s), hkv * valLen(s)} {
		if r := ne0 % cudaRowPad; r != 0 {
			// the tensor itself (cells × ne0 blocks) ends on the alignment
			pad += (uint64(float64(cudaRowPad-r)*bpe) + gpuAlign - 1) / gpuAlign * gpuAlign
		}
	}
	return pad
}
