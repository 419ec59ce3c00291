package estimate

// Speed model. Decode reads, per token, the weights a token touches (dense: all
// blocks + output; MoE: shared tensors + the used experts' share) and the KV
// cache of the context so far, from whichever memory holds them. On a GPU that
// is memory-bound: gpuBytes/(η·BW_gpu). On a CPU it is the slower of the memory
// read and the dot products the threads can do (a roofline): with few cores
// llama.cpp's CPU decode is compute-bound, and then F16 weights cost ~4× more
// per parameter than quantized ones (measured, docs/ESTIMATES.md).
// t = gpu + max(cpuBytes/(η·BW_cpu), cpuParams/rate) + t0 (+ a graph-split
// cost per GPU↔CPU boundary at partial offload).

// Efficiency defaults (fraction of peak bandwidth reached by decode kernels).
const (
	DefaultGPUEta = 0.78   // RTX 4080, Qwen2.5-7B Q4_K_M: 120 t/s of 716.8 GB/s
	DefaultCPUEta = 0.60   // llama.cpp CPU decode on desktop DDR4/DDR5
	DefaultT0     = 0.0003 // s/token fixed cost (sampling, graph launch): 0–0.3 ms fitted on the CPU engine
	SplitCost     = 0.005  // s/token for a GPU→CPU graph split (REFERENCE: 5–6 ms)
	// DefaultCPUBandwidth is the system-RAM bandwidth (GB/s) assumed when the
	// target does not say (hardware.DefaultCPUBandwidth, FITBENCH_RAM_BW).
	DefaultCPUBandwidth = 40.0
	// CPU dot-product rates per thread, weight parameters per second, measured
	// with Ollama's llama.cpp on one AMD EPYC core (AVX2): Q8_0 5.0, Q4_0 4.6,
	// F16 1.1 G params/s. Quantized types use integer dot products; F16/BF16/F32
	// convert and multiply in float.
	DefaultCPUQuantRate = 4.8e9
	DefaultCPUFloatRate = 1.1e9
	// DefaultCPUThreads is assumed when the target does not say.
	DefaultCPUThreads = 4
)

// SpeedInputs is what the speed model needs, filled by Analyze from the plan.
type SpeedInputs struct {
	GPUBytes, CPUBytes     float64 // weight bytes read per token on each side
	GPUKVBytes, CPUKVBytes float64 // KV bytes read per token (at half context)
	GPUBandwidth           float64 // GB/s (slowest GPU when split)
	CPUBandwidth           float64
	// CPUParams is the weight parameters multiplied per token on the CPU and
	// CPUParamRate what its threads do per second at the default efficiency
	// (0 = no compute bound).
	CPUParams, CPUParamRate float64
	Splits                  int     // GPU↔CPU boundaries (0 when fully on one side)
	Params                  float64 // parameters active per token (for prefill)
	FLOPS                   float64 // peak FLOP/s of the device doing prefill
}

// Speed is the estimate for one sequence and for a batch.
type Speed struct {
	DecodeTokS  float64 `json:"decode_tok_s"`
	BatchTokS   float64 `json:"batch_tok_s"`
	PrefillTokS float64 `json:"prefill_tok_s"`
	SecPerToken float64 `json:"sec_per_token"`
}

// decodeTime is seconds per token with efficiencies etaG/etaC and fixed cost t0.
func decodeTime(in SpeedInputs, etaG, etaC, t0 float64) float64 {
	t := t0 + float64(in.Splits)*SplitCost
	if in.GPUBandwidth > 0 {
		t += (in.GPUBytes + in.GPUKVBytes) / (etaG * in.GPUBandwidth * GB)
	}
	return t + cpuWork(in)/etaC
}

// cpuWork is the CPU side's seconds per token at efficiency 1: the larger of
// the memory read and the compute time (which is expressed at DefaultCPUEta so
// that one η scales both, and Calibrate stays linear in 1/η).
func cpuWork(in SpeedInputs) float64 {
	var w float64
	if in.CPUBandwidth > 0 {
		w = (in.CPUBytes + in.CPUKVBytes) / (in.CPUBandwidth * GB)
	}
	if in.CPUParamRate > 0 {
		w = max(w, DefaultCPUEta*in.CPUParams/in.CPUParamRate)
	}
	return w
}

// EstimateSpeed applies the model. parallel sequences share one weight read per
// step (continuous batching), so batch throughput grows until the step becomes
// compute-bound; the KV reads scale with the sequences.
func EstimateSpeed(in SpeedInputs, parallel int, etaG, etaC, t0 float64) Speed {
	parallel = max(parallel, 1)
	t := decodeTime(in, etaG, etaC, t0)
	sp := Speed{SecPerToken: t}
	if t > 0 {
		sp.DecodeTokS = 1 / t
	}
	bi := in
	bi.GPUKVBytes *= float64(parallel)
	bi.CPUKVBytes *= float64(parallel)
	tb := decodeTime(bi, etaG, etaC, t0)
	if in.FLOPS > 0 && in.Params > 0 {
		tb = max(tb, float64(parallel)*2*in.Params/(0.5*in.FLOPS))
		sp.PrefillTokS = 0.5 * in.FLOPS / (2 * in.Params)
	}
	if tb > 0 {
		sp.BatchTokS = float64(parallel) / tb
	}
	return sp
}
