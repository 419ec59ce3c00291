package estimate

import "fmt"

// llama-server's defaults for its automatic fit (common/common.h of the
// llama.cpp vendored by Ollama v0.17.4: fit_params = true, fit_params_target =
// 1 GiB, fit_params_min_ctx = 4096).
const (
	LlamaFitMargin = 1 << 30
	LlamaFitMinCtx = 4096
)

// LlamaFit is what llama_params_fit chooses before llama-server loads a model
// (src/llama.cpp, llama_params_fit_impl), predicted from fitbench's per-device
// memory model. Zero / nil fields mean "left as the user gave it".
type LlamaFit struct {
	// Changed is false when the defaults already leave the margin on every GPU.
	Changed bool `json:"changed"`
	// NCtx is the total context llama-server will use (the training context
	// when -c was not given; possibly cut, never below LlamaFitMinCtx).
	NCtx int `json:"n_ctx"`
	// NGPULayers is the -ngl llama-server ends up with: 999 (every layer and the
	// output) when nothing had to change; otherwise the repeating layers that fit
	// (the output layer stays on the CPU for a dense model).
	NGPULayers int `json:"n_gpu_layers"`
	// TensorSplit is the layer count per GPU (set with two or more GPUs).
	TensorSplit []int `json:"tensor_split,omitempty"`
	// Overrides are the tensor buffer-type overrides it wrote (MoE models:
	// which blocks' experts, or parts of which block, go to system RAM or the
	// next GPU), in its order.
	Overrides []FitOverride `json:"tensor_overrides,omitempty"`
	// Aborted names the reason llama_params_fit gave up (the user set -ngl or
	// -ts, too few layers for the devices…); the user's values then stand.
	Aborted string `json:"aborted,omitempty"`
	// Note explains the choice in a sentence.
	Note string `json:"note"`
}

// LlamaFitInput is llama-server's command line as far as the fit cares.
type LlamaFitInput struct {
	In      Input // Summary, Parallel, CacheType, FlashAttention, NUbatch, Target
	UserCtx int   // -c per the whole server (0 = not given: the training context)
	UserNGL *int  // -ngl when given: the fit aborts after the context step
	Margin  uint64
	MinCtx  int
}

// deviceFree is what ggml_backend_dev_memory reports for g once the runtime
// has taken its overhead (the simulated rig devices report exactly this).
func deviceFree(g GPU) uint64 {
	f, oh := gpuFree(g), gpuOverhead(g)
	if f <= oh {
		return 0
	}
	return f - oh
}

// fitMemoryU is llama_get_device_memory_data for one configuration of
// llama_params_fit (its uint32 per-GPU layer counts): the bytes each GPU holds
// (weights + KV + compute; host buffers do not count), the output layer on
// the CPU (dense models). The sum is
// -ngl as int32 (it may wrap, as in the vendored source) and each count is the
// GPU's tensor_split share; with no layer at all the GPUs still hold the
// compute the scheduler offloads to them (sched.go).
func fitMemoryU(in Input, nCtxTotal int, layers []uint32) []uint64 {
	var sum uint32
	for _, n := range layers {
		sum += n
	}
	ngl := int(int32(sum))
	q := in
	q.Parallel = max(in.Parallel, 1)
	q.Context = max(nCtxTotal/q.Parallel, 1)
	q.Target.GPUs = make([]GPU, len(in.Target.GPUs))
	for i, g := range in.Target.GPUs {
		share := uint64(layers[i])
		if ngl <= 0 {
			share = 1 // no layers: any split, nothing is placed by it
		}
		q.Target.GPUs[i] = GPU{Name: g.Name, FreeBytes: share, VRAMBytes: share, OverheadBytes: 1}
	}
	p := planLlama(q, min(max(ngl, 0), in.Summary.BlockCount))
	used := make([]uint64, len(in.Target.GPUs))
	for i := range used {
		d := p.devices[i]
		used[i] = d.WeightsBytes + d.KVBytes + d.ComputeBytes
	}
	return used
}

// PredictLlamaFit follows llama_params_fit_impl step by step for a dense model:
//  1. with the given settings (default -ngl = every layer and the output, the
//     default split by free memory) nothing changes when every GPU keeps the
//     margin free;
//  2. else, when -c was not given and the training context exceeds the
//     minimum, the context is cut by the total deficit over the KV bytes per
//     cell (never below the minimum); one GPU that now fits stops here;
//  3. a user -ngl or -ts aborts the fit (the context cut stays);
//  4. otherwise the GPUs are filled with whole repeating layers from the back
//     of the model, last GPU first, each with as many as stay under free −
//     margin; the output layer stays on the CPU. -ngl is the layer sum and,
//     with two or more GPUs, -ts the count per GPU.
//
// MoE models take llama.cpp's MoE path from step 4 on (fitMoE, fitmoe.go):
// the experts go to system RAM first, dense-only layers fill the GPUs back to
// front, then full layers front to back, and the result carries the tensor
// overrides.
func PredictLlamaFit(f LlamaFitInput) LlamaFit {
	in := f.In
	s := in.Summary
	margin := f.Margin
	if margin == 0 {
		margin = LlamaFitMargin
	}
	minCtx := f.MinCtx
	if minCtx == 0 {
		minCtx = LlamaFitMinCtx
	}
	nd := len(in.Target.GPUs)
	nL := s.BlockCount
	nct := s.ContextLength
	nCtx := f.UserCtx
	if nCtx == 0 {
		nCtx = nct
	}
	out := LlamaFit{NCtx: nCtx, NGPULayers: 999}
	if f.UserNGL != nil {
		out.NGPULayers = *f.UserNGL
	}
	if nd == 0 {
		out.Note = "no GPU: llama-server runs on the CPU as given"
		return out
	}
	free := make([]int64, nd)
	for i, g := range in.Target.GPUs {
		free[i] = int64(deviceFree(g))
	}

	// step 1: the initial parameters (the user's -ngl when given, all layers
	// otherwise), default split by free memory
	var used, kv []uint64
	{
		q := in
		q.Target.GPUs = make([]GPU, nd)
		for i := range q.Target.GPUs {
			q.Target.GPUs[i] = GPU{FreeBytes: uint64(max(free[i], 1)), VRAMBytes: uint64(max(free[i], 1)), OverheadBytes: 1}
		}
		q.Parallel = max(in.Parallel, 1)
		q.Context = max(nCtx/q.Parallel, 1)
		ngl := nL + 1
		if f.UserNGL != nil {
			ngl = min(max(*f.UserNGL, 0), nL+1)
		}
		p := planLlama(q, ngl)
		used, kv = make([]uint64, nd), make([]uint64, nd)
		for i := 0; i < nd; i++ {
			d := p.devices[i]
			used[i] = d.WeightsBytes + d.KVBytes + d.ComputeBytes
			kv[i] = d.KVBytes
			// the probe loads with no_alloc, which the KV cache honours but
			// llama_memory_recurrent does not (llama-memory-recurrent.cpp
			// allocates its RS buffers regardless; the rig's probe log:
			// "KV buffer size = 0.00 MiB", "RS buffer size = 0.53 MiB"): the
			// free memory the probe reads (dmds_full[id].free, which every
			// later step's targets use) already lacks this state, which its
			// projected use counts again
			if i < len(p.devState) {
				free[i] -= int64(p.devState[i])
			}
		}
	}
	var sumFree, sumCtx int64
	minFree := int64(1) << 62
	for i := 0; i < nd; i++ {
		pf := free[i] - int64(used[i])
		sumFree += pf
		minFree = min(minFree, pf)
		sumCtx += int64(kv[i])
	}
	if minFree >= int64(margin) {
		out.Note = fmt.Sprintf("the defaults leave at least %d MiB free on every GPU: no change", minFree>>20)
		return out
	}
	out.Changed = true

	// step 2: cut the context when the user did not set it
	surplus := sumFree - int64(nd)*int64(margin)
	if surplus < 0 {
		if f.UserCtx == 0 && nct > minCtx {
			perCtx := sumCtx / int64(nct)
			if perCtx > 0 {
				red := min(int((-surplus+perCtx-1)/perCtx), nct-minCtx)
				out.NCtx = nct - red
				surplus += int64(red) * perCtx
				if surplus >= 0 && nd == 1 {
					out.Note = fmt.Sprintf("context cut from %d to %d to keep %d MiB free", nct, out.NCtx, margin>>20)
					return out
				}
			}
		}
	}

	// step 3: user settings stop the layer fit
	if f.UserNGL != nil {
		out.Aborted = fmt.Sprintf("n_gpu_layers already set by user to %d", *f.UserNGL)
		out.Note = "llama_params_fit gives up (the -ngl given is used as is)"
		return out
	}
	if nd > 1 && nL < 2*nd {
		out.Aborted = fmt.Sprintf("model has only %d layers but need at least %d to fit memory for %d devices", nL, 2*nd, nd)
		out.Note = "llama_params_fit gives up"
		return out
	}

	if s.ExpertCount > 0 && len(s.ExpertLayerBytes) >= nL {
		return fitMoE(in, out, free, int64(margin))
	}

	// step 4: dense layers back to front, by llama_params_fit_impl's method of
	// false position, reproduced with its integer types: n_layer and
	// n_unassigned are uint32 and n_unassigned is reduced by the device's whole
	// count at every accepted step, so it can wrap around (the vendored source
	// then hands the first GPU 4294967295 layers and -ngl wraps in int32; the
	// rig shows llama-server doing exactly that).
	targets := make([]int64, nd)
	for id := range targets {
		targets[id] = free[id] - int64(margin)
	}
	memOf := func(ls []uint32) []int64 {
		u := fitMemoryU(in, out.NCtx, ls)
		m := make([]int64, nd)
		for i := range u {
			m[i] = int64(u[i])
		}
		return m
	}
	layers := make([]uint32, nd)
	mem := memOf(layers)
	unassigned := uint32(nL)
	for id := nd - 1; id >= 0; id-- {
		high := append([]uint32(nil), layers...)
		high[id] = unassigned
		if high[id] > 0 {
			memHigh := memOf(high)
			if memHigh[id] > targets[id] {
				delta := high[id] - layers[id]
				for delta > 1 {
					den := memHigh[id] - mem[id]
					var q int64
					if den != 0 {
						q = int64(delta) * (targets[id] - mem[id]) / den
					}
					step := uint32(q)
					step = max(step, 1)
					step = min(step, delta-1)
					test := append([]uint32(nil), layers...)
					test[id] += step
					memTest := memOf(test)
					if memTest[id] <= targets[id] {
						layers, mem = test, memTest
						unassigned -= layers[id]
					} else {
						high, memHigh = test, memTest
					}
					delta = high[id] - layers[id]
				}
			} else {
				layers = high
				unassigned -= layers[id]
			}
		}
	}
	var sum uint32
	for _, n := range layers {
		sum += n
	}
	ngl := int(int32(sum)) // mparams.n_gpu_layers (int32) += n_layer (uint32)
	out.NGPULayers = ngl
	if nd > 1 {
		out.TensorSplit = make([]int, nd)
		for i, n := range layers {
			out.TensorSplit[i] = int(n)
		}
	}
	out.Note = fmt.Sprintf("%d of %d layers on the GPU(s), output layer on the CPU, context %d", ngl, nL, out.NCtx)
	return out
}

// pipelineCopies is GGML_SCHED_MAX_COPIES (ggml-backend.cpp), the n_copies of
// llama.cpp's pipeline parallelism.
const pipelineCopies = 4

// cpuFallback is the plan with the GPUs hidden from llama.cpp (llama-server
// -dev none): everything, compute included, in system RAM; the GPUs are listed
// with nothing on them. It is the answer when not even -ngl 0 fits a GPU,
// since a visible GPU receives the offloaded ops' compute buffer regardless.
func cpuFallback(in Input) llamaPlan {
	q := in
	q.Target.GPUs = nil
	p := planLlama(q, 0)
	devs := make([]Device, len(in.Target.GPUs)+1)
	for i, g := range in.Target.GPUs {
		devs[i] = Device{Name: fmt.Sprintf("GPU%d", i), CapacityBytes: gpuFree(g)}
	}
	cpu := p.devices[len(p.devices)-1]
	cpu.CapacityBytes = in.Target.RAMBytes
	devs[len(devs)-1] = cpu
	p.devices = devs
	return p
}

// gpusHidden tells a report whose plan is cpuFallback's.
func gpusHidden(r Report, in Input) bool {
	if len(in.Target.GPUs) == 0 || r.GPULayers != 0 || len(r.Memory.Devices) <= len(in.Target.GPUs) {
		return false
	}
	for _, d := range r.Memory.Devices[:len(in.Target.GPUs)] {
		if d.TotalBytes != 0 {
			return false
		}
	}
	return true
}
