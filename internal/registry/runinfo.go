package registry

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
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

// CalibrationRun is a model with the run that measures it best for
// calibrating the speed model.
type CalibrationRun struct {
	Model *Model
	Run   *BenchmarkRun
}

// CalibrationRuns picks, for every tested model, its latest completed
// single-stream run with an engine-measured decode rate (concurrency 1: the
// speed model predicts one sequence; the engine's rate, not the harness's).
func (db *DB) CalibrationRuns(ctx context.Context) ([]CalibrationRun, error) {
	models, err := db.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	var out []CalibrationRun
	for _, m := range models {
		if m.Status != StatusTested {
			continue
		}
		runs, err := db.ListRuns(ctx, m.ModelID)
		if err != nil {
			return nil, err
		}
		var best *BenchmarkRun
		for _, r := range runs {
			if r.Status == RunCompleted && r.Concurrency == 1 && r.EngineTokS > 0 && (best == nil || r.ID > best.ID) {
				best = r
			}
		}
		if best != nil {
			out = append(out, CalibrationRun{Model: m, Run: best})
		}
	}
	return out, nil
}

// RunSettingsOf returns a run's recorded settings. Runs recorded before
// migration 0008 have none: their context is read from the engine flags
// (Ollama num_ctx, llama-server -c over -np), else the benchmark default of
// the time (2048), and their GPU layers from num_gpu / -ngl.
func RunSettingsOf(r *BenchmarkRun) RunSettings {
	var s RunSettings
	if len(r.Settings) > 0 && json.Unmarshal(r.Settings, &s) == nil && s.Engine != "" {
		return s
	}
	s = RunSettings{Engine: r.Engine, Context: 2048, Parallel: 1, CacheType: "f16", GPULayers: -1, OffloadedLayers: -1, Concurrency: r.Concurrency}
	var flags map[string]string
	_ = json.Unmarshal(r.EngineFlags, &flags)
	atoi := func(k string) int {
		n, _ := strconv.Atoi(flags[k])
		return n
	}
	if n := atoi("num_ctx"); n > 0 {
		s.Context = n
	} else if n := atoi("-c"); n > 0 {
		s.Context = n / max(atoi("-np"), 1)
	}
	if v, ok := flags["num_gpu"]; ok {
		s.GPULayers, _ = strconv.Atoi(v)
	} else if v, ok := flags["-ngl"]; ok {
		s.GPULayers, _ = strconv.Atoi(v)
	}
	if n := atoi("num_thread"); n > 0 {
		s.Threads = n
	}
	return s
}
