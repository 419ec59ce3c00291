package install

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/bench"
	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// EngineBench is the Benchmarker that runs a model on a real engine: it
// starts (or connects to) the engine with the model file and the offload plan
// from the analysis, runs the sample set, records the run, and stops it.
type EngineBench struct {
	DB *registry.DB
	// Engine picks the engine (e.g. engine.ByName with "auto").
	Engine func(ctx context.Context) (engine.Engine, error)
	// Settings is the template for every start: Ctx, Parallel, Threads, CacheType…
	// ModelPath, ModelID and GPULayers are filled per model.
	Settings engine.Settings
	// Options is the template of the run's options (MaxTokens, Concurrency…).
	Options bench.Options
	// Dataset returns the samples; default the built-in 100 prompts.
	Dataset func() ([]bench.Sample, error)
	// Hardware is recorded with each run.
	Hardware func(ctx context.Context) (any, error)

	mu   sync.Mutex // guards last: the server benchmarks several models at once
	last lastRun
	// UseGPUPlan passes a GPU layer count to the engine: the plan for the run's
	// own settings when Estimator is set, else the install's analysis; without a
	// GPU target the engine's own default is used.
	UseGPUPlan bool
	// Estimator plans the run (GPU layers, vLLM's offload) and records the
	// estimate for exactly its settings beside the measurements. Optional.
	Estimator *RunEstimator
}

// Benchmark implements Benchmarker.
func (b *EngineBench) Benchmark(ctx context.Context, modelID string, samples int, progress func(done, total int)) error {
	m, err := b.DB.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	if m.LocalPath == "" {
		return fmt.Errorf("%s has no local file to benchmark", m.ModelID)
	}
	dataset := b.Dataset
	if dataset == nil {
		dataset = bench.Builtin
	}
	set, err := dataset()
	if err != nil {
		return err
	}
	inst, rs, err := b.start(ctx, m)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = inst.Stop(stopCtx)
	}()
	opts := b.Options
	if samples > 0 {
		opts.Samples = samples
	}
	opts.Progress = func(p bench.Progress) {
		if progress != nil {
			progress(p.Done, p.Total)
		}
	}
	var hw any
	if b.Hardware != nil {
		hw, _ = b.Hardware(ctx)
	}
	ro := bench.RunOptions{DB: b.DB, ModelID: m.ModelID, Instance: inst, Samples: set, Options: opts, Hardware: hw, Settings: &rs}
	if b.Estimator != nil {
		ro.Estimate = func(ctx context.Context, s registry.RunSettings) registry.RunEstimate {
			return b.Estimator.Estimate(ctx, m, s)
		}
	}
	res, runID, err := bench.Run(ctx, ro)
	b.mu.Lock()
	b.last = lastRun{res: res, id: runID}
	b.mu.Unlock()
	return err
}

// lastRun is the result of the latest Benchmark call (for the CLI's report).
type lastRun struct {
	res *bench.Result
	id  int64
}

// LastRun returns the id and result of the latest benchmark this EngineBench ran.
func (b *EngineBench) LastRun() (int64, *bench.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last.id, b.last.res
}

// runSettings is what the run is asked to use, in fitbench's terms (context per
// sequence): the engine's defaults written out where fitbench knows them.
func (b *EngineBench) runSettings(engineName string, s engine.Settings) registry.RunSettings {
	rs := registry.RunSettings{Engine: engineName, Context: s.Ctx, Parallel: max(s.Parallel, 1), CacheType: s.CacheType,
		NBatch: s.NBatch, NUbatch: s.NUbatch, GPULayers: -1, OffloadedLayers: -1, Threads: s.Threads,
		GPUMemoryUtilization: s.GPUMemUtil, CPUOffloadGB: s.CPUOffloadGB, TensorParallel: s.TensorParallel}
	if rs.CacheType == "" {
		rs.CacheType = "f16" // llama.cpp's and Ollama's default; vLLM's "auto" is the model's dtype
	}
	if engineName == "vllm" && rs.GPUMemoryUtilization == 0 {
		rs.GPUMemoryUtilization = 0.9 // vLLM's default
	}
	return rs
}

// Start starts (or connects to) the engine for an installed model with the
// settings every benchmark of it uses: the template, the model file and the
// offload plan for those settings. Batch jobs start their engine through it,
// so a job runs the model exactly as it was measured. The caller stops it.
func (b *EngineBench) Start(ctx context.Context, m *registry.Model) (engine.Instance, error) {
	inst, _, err := b.start(ctx, m)
	return inst, err
}

// start is Start that also returns the settings the run asked for.
func (b *EngineBench) start(ctx context.Context, m *registry.Model) (engine.Instance, registry.RunSettings, error) {
	if m.LocalPath == "" {
		return nil, registry.RunSettings{}, fmt.Errorf("%s has no local file to run", m.ModelID)
	}
	eng, err := b.Engine(ctx)
	if err != nil {
		return nil, registry.RunSettings{}, err
	}
	s := b.Settings
	s.ModelPath, s.ModelID = m.LocalPath, m.ModelID
	if m.Projector != nil {
		s.ProjectorPath = m.Projector.Path
		if eng.Name() == "ollama" {
			s.Ctx = engine.OllamaCtx(s) // the context the run really has
		}
	}
	rs := b.runSettings(eng.Name(), s)
	if b.UseGPUPlan {
		if b.Estimator != nil {
			rs = b.Estimator.Plan(ctx, m, rs)
		} else if m.TotalLayers > 0 {
			rs.GPULayers = m.GPULayers
		}
	}
	s.GPULayers, s.CPUOffloadGB, s.TensorParallel = rs.GPULayers, rs.CPUOffloadGB, rs.TensorParallel
	inst, err := eng.Start(ctx, s)
	if err != nil {
		return nil, rs, fmt.Errorf("starting %s: %w", eng.Name(), err)
	}
	return inst, rs, nil
}
