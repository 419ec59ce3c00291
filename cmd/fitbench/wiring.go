package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/bench"
	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

// variantEstimator records the analysis of the installed variant with it.
type variantEstimator struct {
	a   *analyze.Analyzer
	req analyze.Request
}

func (v *variantEstimator) EstimateVariant(ctx context.Context, l *hub.Listing, vr hub.Variant) (install.Estimate, error) {
	r, err := v.a.Variant(ctx, l, vr, v.req)
	if err != nil {
		return install.Estimate{}, err
	}
	return install.Estimate{Name: r.ModelName, ParamCount: int64(r.Model.ParamCount), Architecture: r.Model.Architecture,
		ContextLength: int64(r.Model.ContextLength), EstimatedMemoryGB: r.Memory.TotalGB, CPUOffloadGB: r.Memory.CPUOffloadGB,
		EstimatedThroughput: r.Performance.EstimatedThroughput, QualityStars: r.Performance.QualityStars,
		GPULayers: r.GPULayers, TotalLayers: r.TotalLayers}, nil
}

// benchConfig is how benchmarks run: the engine and the run's size. The
// defaults suit a CPU: short outputs, a 2048-token context.
type benchConfig struct {
	engine      string
	baseURL     string
	model       string
	ctx         int // per sequence, in every engine
	parallel    int
	cacheType   string
	concurrency int
	maxTokens   int
	dataset     string
	full        bool
	// dataDir holds what a spawned engine writes: its log and, for Ollama, its
	// model store (kept between runs, so a model's blob is imported once).
	dataDir string
}

func (c benchConfig) benchmarker(db *registry.DB, hw func(context.Context) (hardware.Hardware, error)) *install.EngineBench {
	ctxLen := c.ctx
	if ctxLen == 0 {
		ctxLen = envInt("FITBENCH_BENCH_CTX", 2048)
	}
	b := &install.EngineBench{
		DB: db,
		Engine: func(ctx context.Context) (engine.Engine, error) {
			e, err := engine.ByName(ctx, c.engine, c.baseURL, c.model)
			if o, ok := e.(*engine.Ollama); ok && c.dataDir != "" {
				// A server fitbench starts keeps its models and its HOME (Ollama
				// writes a key pair there) inside the data directory.
				o.ModelsDir = filepath.Join(c.dataDir, "engines", "ollama")
				home := filepath.Join(c.dataDir, "engines", "ollama-home")
				if err := os.MkdirAll(home, 0o755); err == nil {
					o.Env = append(o.Env, "HOME="+home)
				}
			}
			return e, err
		},
		Settings:   engine.Settings{Ctx: ctxLen, Parallel: c.parallel, CacheType: c.cacheType, Threads: envInt("FITBENCH_BENCH_THREADS", 0), LogDir: engineLogDir(c.dataDir)},
		Options:    bench.Options{Concurrency: c.concurrency, MaxTokens: c.maxTokens},
		UseGPUPlan: true,
		Estimator:  &install.RunEstimator{Machine: machineTarget(hw), Calibration: calibrationFrom(db, hw)},
		Hardware: func(ctx context.Context) (any, error) {
			return hw(ctx)
		},
	}
	switch {
	case c.dataset != "":
		path := c.dataset
		b.Dataset = func() ([]bench.Sample, error) { return bench.LoadFile(path) }
	case c.full:
		b.Dataset = func() ([]bench.Sample, error) { return bench.Full(5000, 1), nil }
	}
	return b
}

// engineLogDir is where spawned engines log: inside the data directory, so
// fitbench writes nowhere else ("" = the engine package's temporary directory).
func engineLogDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	d := filepath.Join(dataDir, "logs", "engines")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return ""
	}
	return d
}

func newBenchmarker(db *registry.DB, dataDir string, ef engineFlags, hw func(context.Context) (hardware.Hardware, error)) *install.EngineBench {
	b := benchConfig{engine: ef.name, baseURL: ef.baseURL, model: ef.model, maxTokens: envInt("FITBENCH_BENCH_MAX_TOKENS", 0), dataDir: dataDir}.benchmarker(db, hw)
	// The sample count when a request names none (the page's empty Samples
	// field, `install --benchmark`): 100 on a GPU is a minute, on a small CPU
	// it can be several, so a slow machine may lower it.
	b.Options.Samples = envInt("FITBENCH_BENCH_SAMPLES", 0)
	return b
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
