package install

import (
	"context"
	"fmt"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/registry"
)

// RunEstimator makes the estimate for exactly the settings a benchmark runs
// with, so each measurement is compared with an estimate of the same thing
// (engine and engine path, context per sequence, slots, cache type, batch
// sizes, GPU layers, threads, measured cache length).
type RunEstimator struct {
	// Machine is the hardware the benchmark runs on, as detected.
	Machine func(ctx context.Context) (estimate.Target, error)
	// Calibration, optional, adds the calibrated figure.
	Calibration func(ctx context.Context, t estimate.Target) (*estimate.Calibration, error)
}

// estimatorEngine maps a benchmark engine to the estimator's family. An
// OpenAI-compatible server could be anything; llama.cpp's rules are assumed
// and the estimate says so.
func estimatorEngine(engineName string) (string, string) {
	switch engineName {
	case "ollama":
		return estimate.EngineOllama, ""
	case "vllm":
		return estimate.EngineVLLM, ""
	case "llamacpp":
		return estimate.EngineLlamaCpp, ""
	}
	return estimate.EngineLlamaCpp, fmt.Sprintf("engine %q is not modelled: llama.cpp's rules assumed", engineName)
}

// summaryOf reads the headers of a model's files.
func summaryOf(m *registry.Model) (gguf.Summary, error) {
	paths := make([]string, 0, len(m.Files))
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	if len(paths) == 0 && m.LocalPath != "" {
		paths = []string{m.LocalPath}
	}
	files := make([]*gguf.File, 0, len(paths))
	for _, p := range paths {
		f, err := gguf.ReadFile(p)
		if err != nil {
			return gguf.Summary{}, err
		}
		files = append(files, f)
	}
	sum, err := gguf.MergeSummaries(files)
	if err == nil {
		err = sum.Validate()
	}
	return sum, err
}

func (e RunEstimator) input(ctx context.Context, sum gguf.Summary, s registry.RunSettings) (estimate.Input, string, error) {
	var t estimate.Target
	if e.Machine != nil {
		var err error
		if t, err = e.Machine(ctx); err != nil {
			return estimate.Input{}, "", err
		}
	}
	if s.Threads > 0 {
		t.CPUThreads = s.Threads
	}
	fam, note := estimatorEngine(s.Engine)
	in := estimate.Input{Summary: sum, Engine: fam, Context: s.Context, Parallel: max(s.Parallel, 1),
		CacheType: s.CacheType, FlashAttention: s.FlashAttention, NUbatch: s.NUbatch, Target: t, KVTokens: s.KVTokens}
	if s.GPULayers >= 0 {
		n := s.GPULayers
		in.GPULayers = &n
	}
	if fam == estimate.EngineVLLM {
		in.VLLM = estimate.VLLMOptions{GPUMemoryUtilization: s.GPUMemoryUtilization, MaxModelLen: s.Context, MaxNumSeqs: s.Parallel}
		if !strings.HasPrefix(s.CacheType, "fp8") {
			in.CacheType = "f16"
		}
	}
	if e.Calibration != nil {
		if c, err := e.Calibration(ctx, t); err == nil {
			in.Calibration = c
		}
	}
	return in, note, nil
}

// Plan fills what the engine needs from the estimate for these settings: the
// GPU layer count for the llama.cpp family when s.GPULayers is -1 and the
// machine has a GPU (on a CPU-only machine the engine's own default, 0, is
// kept), and vLLM's --cpu-offload-gb. It never fails the benchmark: without a
// readable header the settings are returned as they came.
func (e RunEstimator) Plan(ctx context.Context, m *registry.Model, s registry.RunSettings) registry.RunSettings {
	sum, err := summaryOf(m)
	if err != nil {
		return s
	}
	in, _, err := e.input(ctx, sum, s)
	if err != nil || len(in.Target.GPUs) == 0 {
		return s
	}
	r := estimate.Analyze(in)
	if s.GPULayers < 0 && r.Engine != estimate.EngineVLLM {
		s.GPULayers = r.GPULayers
	}
	if r.VLLM != nil && s.CPUOffloadGB == 0 {
		s.CPUOffloadGB = r.VLLM.CPUOffloadGB
	}
	if r.VLLM != nil && s.TensorParallel == 0 && len(in.Target.GPUs) > 1 {
		s.TensorParallel = len(in.Target.GPUs) // the plan's budget is over every GPU
	}
	return s
}

// Estimate is the estimate for a run's final settings.
func (e RunEstimator) Estimate(ctx context.Context, m *registry.Model, s registry.RunSettings) registry.RunEstimate {
	sum, err := summaryOf(m)
	if err != nil {
		return registry.RunEstimate{Error: "no estimate: " + err.Error()}
	}
	in, note, err := e.input(ctx, sum, s)
	if err != nil {
		return registry.RunEstimate{Error: "no estimate: " + err.Error()}
	}
	r := estimate.Analyze(in)
	out := registry.RunEstimate{Engine: r.Engine, DecodeTokS: r.Performance.EstimatedThroughput,
		CalibratedDecodeTokS: r.Performance.CalibratedThroughput, GPULayers: r.GPULayers, Notes: r.Notes}
	if note != "" {
		out.Notes = append(out.Notes, note)
	}
	if p := m.Projector; p != nil {
		// The engines' load-log buffers this is compared with leave the
		// projector out too: llama.cpp's mtmd/clip loader prints its own
		// "load_hparams: model size" apart from the model's buffers, and
		// Ollama v0.17.4's llm/server.go sizes "the vision projector" from
		// loadRequest.LoraPath (the adapters), so its "model weights" line is
		// the same with and without one (measured with a synthetic projector).
		out.Notes = append(out.Notes, fmt.Sprintf("the vision projector (%.1f MB, loaded beside the model) is in neither this estimate nor the measured buffers", float64(p.SizeBytes)/1e6))
	}
	// The buffers a load log reports (weights, KV, compute, output) are what
	// is compared; the runtime overhead (CUDA context, staging) is not in the log.
	for i, d := range r.Memory.Devices {
		b := d.WeightsBytes + d.KVBytes + d.ComputeBytes + d.OutputBytes
		out.TotalBytes += b
		out.WeightsBytes += d.WeightsBytes
		out.KVBytes += d.KVBytes
		out.ComputeBytes += d.ComputeBytes
		if i < len(in.Target.GPUs) {
			out.GPUBytes += b
		} else {
			out.CPUBytes += b
		}
	}
	if s.EnginePath == "ollama engine" {
		out.Notes = append(out.Notes, "Ollama ran this model on its own engine; the estimate follows its llama.cpp runner's rules")
	}
	return out
}
