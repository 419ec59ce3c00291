package estimate

import "fmt"

// Target rules that are not about one architecture: llama.cpp's tensor
// split, unified memory (Apple Silicon) and unknown system RAM.

// splitWeight is g's weight in llama.cpp's layer split. llama.cpp
// (llama_model::load_tensors) uses --tensor-split when any share is non-zero,
// else each device's free memory.
func splitWeight(g GPU, all []GPU) float64 {
	for _, o := range all {
		if o.Split > 0 {
			return g.Split
		}
	}
	return float64(gpuFree(g))
}

// ramFits: what the plan leaves in system RAM fits there. With unified
// memory the GPUs' buffers come out of the same RAM, so they count too (the
// GPU side alone is already bounded by the working set, its capacity). An
// unknown RAM fits nothing; a zero RAMBytes without RAMUnknown is "not
// limited" (callers that do not model RAM).
func ramFits(p llamaPlan, in Input) bool {
	t := in.Target
	if t.RAMUnknown {
		return false
	}
	if t.RAMBytes == 0 {
		return true
	}
	cpu := p.devices[len(p.devices)-1]
	need := cpu.TotalBytes
	if t.Unified {
		for _, d := range p.devices[:len(p.devices)-1] {
			need += d.TotalBytes
		}
	}
	return need <= t.RAMBytes
}

// settleTarget applies the target rules that can change a verdict.
func settleTarget(r *Report, in Input) {
	gpuTooSmall(r, in)
	ramUnknown(r, in)
}

// gpuTooSmall: when not even -ngl 0 fits the GPUs (their runtime overhead and
// compute buffer alone exceed a very small card), the model can still run on
// the CPU with the GPU hidden from the engine (CUDA_VISIBLE_DEVICES=""), so it
// is "too large even with CPU offload" only if system RAM cannot hold it.
func gpuTooSmall(r *Report, in Input) {
	// The plan itself is bestPlan's cpuFallback (fit.go), checked on the
	// simulated-GPU rig; this only says so in the report's notes.
	if in.Engine != EngineVLLM && gpusHidden(*r, in) {
		r.Notes = append(r.Notes, "the GPU memory is too small to hold even the runtime buffers: everything runs on the CPU, with the GPU hidden from the engine")
	}
}

// ramUnknown settles the verdict when system RAM could not be read: a model
// the GPUs hold whole fits (the CPU side keeps only the token embeddings,
// assumed to fit); anything else cannot be judged and is never called a fit.
func ramUnknown(r *Report, in Input) {
	if !in.Target.RAMUnknown {
		return
	}
	cpu := r.Memory.Devices[len(r.Memory.Devices)-1]
	if r.FitsWithoutOffload && len(in.Target.GPUs) > 0 {
		r.WillFit, r.Verdict = true, VerdictFits
		r.Notes = append(r.Notes, fmt.Sprintf("system RAM unknown: the %.2f GB kept in system RAM (token embeddings, buffers) is assumed to fit", gb(cpu.TotalBytes)))
		return
	}
	r.WillFit, r.Verdict = false, VerdictRAMUnknown
	r.Notes = append(r.Notes, fmt.Sprintf("system RAM unknown: %.2f GB would have to be in system RAM, so whether it fits cannot be told", gb(cpu.TotalBytes)))
}
