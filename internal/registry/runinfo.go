package registry

import (
	"encoding/json"
	"math"
)

// RunSettings are exactly how the engine ran a benchmark: what the estimate
// recorded with the run (RunEstimate) is recomputed for.
type RunSettings struct {
	Engine string `json:"engine"` // ollama, llamacpp, vllm, openai
	// EnginePath is the path inside the engine when it has several (Ollama:
	// "llama.cpp runner" or "ollama engine"), from its load log.
	EnginePath string `json:"engine_path,omitempty"`
	// Context is per sequence (one meaning in every adapter).
	Context   int    `json:"context_per_sequence"`
	Parallel  int    `json:"parallel"`
	CacheType string `json:"cache_type"`
	NBatch    int    `json:"n_batch,omitempty"`
	NUbatch   int    `json:"n_ubatch,omitempty"`
	// GPULayers is what the engine was given (-1: its own choice);
	// OffloadedLayers what its load log says it did (-1: not reported).
	GPULayers       int   `json:"gpu_layers"`
	OffloadedLayers int   `json:"offloaded_layers"`
	Threads         int   `json:"threads,omitempty"`
	FlashAttention  *bool `json:"flash_attention,omitempty"`
	// vLLM's plan, in vLLM's terms.
	GPUMemoryUtilization float64 `json:"gpu_memory_utilization,omitempty"`
	CPUOffloadGB         float64 `json:"cpu_offload_gb,omitempty"`
	TensorParallel       int     `json:"tensor_parallel_size,omitempty"`
	MaxTokens            int     `json:"max_tokens"`
	Concurrency          int     `json:"concurrency"`
	// KVTokens is the mean number of cache cells a decoded token attended over
	// in this run (prompt + half the output, from the measured tokens).
	KVTokens int `json:"kv_tokens"`
	// Sources says which settings were read back from the engine ("n_ctx":
	// "load log") rather than taken from what fitbench asked for.
	Sources map[string]string `json:"sources,omitempty"`
}

// RunEstimate is the estimate recomputed for a run's own settings.
type RunEstimate struct {
	Engine               string   `json:"engine"` // the estimator's engine family
	DecodeTokS           float64  `json:"decode_tok_s"`
	CalibratedDecodeTokS float64  `json:"calibrated_decode_tok_s,omitempty"`
	TotalBytes           uint64   `json:"total_bytes"`
	GPUBytes             uint64   `json:"gpu_bytes"`
	CPUBytes             uint64   `json:"cpu_bytes"`
	WeightsBytes         uint64   `json:"weights_bytes"`
	KVBytes              uint64   `json:"kv_bytes"`
	ComputeBytes         uint64   `json:"compute_bytes"`
	GPULayers            int      `json:"gpu_layers"`
	Notes                []string `json:"notes,omitempty"`
	// Error says why there is no estimate (e.g. the file's header could not be read).
	Error string `json:"error,omitempty"`
}

// ErrorReason is one distinct failure of a run's samples.
type ErrorReason struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
	// FirstSample is the index of the first sample that failed this way.
	FirstSample int `json:"first_sample"`
}

// RunComparison puts a run's measurements beside its own estimate. Errors are
// estimate/measured − 1 (+0.10: the estimate was 10% high); nil when either
// side is missing.
type RunComparison struct {
	EstimatedDecodeTokS float64  `json:"estimated_decode_tok_s"`
	MeasuredDecodeTokS  float64  `json:"measured_decode_tok_s"`
	DecodeError         *float64 `json:"decode_error,omitempty"`
	EstimatedBytes      uint64   `json:"estimated_memory_bytes"`
	MeasuredBytes       uint64   `json:"measured_memory_bytes"`
	MemoryError         *float64 `json:"memory_error,omitempty"`
}

func relErr(est, meas float64) *float64 {
	if est <= 0 || meas <= 0 || math.IsInf(est, 0) || math.IsNaN(est) {
		return nil
	}
	e := est/meas - 1
	return &e
}

// compare fills r.Comparison from its estimate and measurements.
func (r *BenchmarkRun) compare() {
	var est RunEstimate
	if len(r.Estimate) == 0 || json.Unmarshal(r.Estimate, &est) != nil || (est.DecodeTokS == 0 && est.TotalBytes == 0) {
		return
	}
	meas := uint64(max(r.MemGPUBytes, 0) + max(r.MemCPUBytes, 0))
	r.Comparison = &RunComparison{
		EstimatedDecodeTokS: est.DecodeTokS, MeasuredDecodeTokS: r.EngineTokS, DecodeError: relErr(est.DecodeTokS, r.EngineTokS),
		EstimatedBytes: est.TotalBytes, MeasuredBytes: meas, MemoryError: relErr(float64(est.TotalBytes), float64(meas)),
	}
}
