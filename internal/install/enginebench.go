package install

import (
	"context"
	"fmt"
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
	// UseGPUPlan passes the analysis's GPU layer count to the engine; without a
	// GPU target the engine's own default is used.
	UseGPUPlan bool
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
	inst, err := b.Start(ctx, m)
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
	res, _, err := bench.Run(ctx, bench.RunOptions{DB: b.DB, ModelID: m.ModelID, Instance: inst, Samples: set,
		Options: opts, Hardware: hw})
	if err != nil {
		return err
	}
	// The engine's own decode figure when it reports one (Ollama, llama-server);
	// the harness's otherwise (any OpenAI-compatible server).
	decode := res.EngineDecodeTPS
	if decode <= 0 {
		decode = res.HarnessDecodeTPS
	}
	return b.DB.SetDecode(ctx, m.ModelID, inst.Engine(), decode)
}

// Start starts (or connects to) the engine for an installed model with the
// settings every benchmark of it uses: the template, the model file and the
// analysis's GPU layer count. Batch jobs start their engine through it, so a
// job runs the model exactly as it was measured. The caller stops it.
func (b *EngineBench) Start(ctx context.Context, m *registry.Model) (engine.Instance, error) {
	if m.LocalPath == "" {
		return nil, fmt.Errorf("%s has no local file to run", m.ModelID)
	}
	eng, err := b.Engine(ctx)
	if err != nil {
		return nil, err
	}
	s := b.Settings
	s.ModelPath, s.ModelID = m.LocalPath, m.ModelID
	s.GPULayers = -1
	if b.UseGPUPlan && m.TotalLayers > 0 {
		s.GPULayers = m.GPULayers
	}
	inst, err := eng.Start(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", eng.Name(), err)
	}
	return inst, nil
}
