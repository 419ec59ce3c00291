package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// RunOptions describe a benchmark whose results go to the registry.
type RunOptions struct {
	DB       *registry.DB
	ModelID  string // registry model_id
	Instance engine.Instance
	Samples  []Sample
	Options  Options
	// Hardware is recorded with the run as JSON (e.g. hardware.Detect's answer);
	// default: OS, architecture, CPU count and host name.
	Hardware any
	// Settings are how the engine was started; the run completes them with what
	// the engine reports (engine path, cache type, batch sizes from its load
	// log) and the measured cache length, and records them.
	Settings *registry.RunSettings
	// Estimate recomputes the estimate for the run's final settings; its
	// answer is recorded with the run, beside the measurements. Optional.
	Estimate func(ctx context.Context, s registry.RunSettings) registry.RunEstimate
}

// Run benchmarks a registered model and records the run: the model goes to
// "benchmarking", a benchmark_runs row is created (running), per-sample outputs
// are stored, the run is finished with every metric, the model's measured speeds
// are updated — throughput_tokens_per_sec is the output tok/s at the run's
// concurrency, total tok/s is stored beside it — and the model becomes "tested".
// On failure the run is recorded "failed" with the reason and the model gets back
// the status it had before. It returns the run id with the result.
func Run(ctx context.Context, ro RunOptions) (*Result, int64, error) {
	if ro.DB == nil || ro.Instance == nil {
		return nil, 0, fmt.Errorf("bench: Run needs a registry and an engine instance")
	}
	m, err := ro.DB.GetModel(ctx, ro.ModelID)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: %w", err)
	}
	prev, prevReason := m.Status, m.StatusReason
	if prev == registry.StatusBenchmarking { // left over from an interrupted run
		prev, prevReason = registry.StatusUntested, ""
	}
	if err := ro.DB.SetStatus(ctx, m.ModelID, registry.StatusBenchmarking, ""); err != nil {
		return nil, 0, fmt.Errorf("bench: %w", err)
	}
	// Bookkeeping after a failure must happen even when ctx was cancelled.
	bg := context.WithoutCancel(ctx)
	restore := func(error) { _ = ro.DB.SetStatus(bg, m.ModelID, prev, prevReason) }
	hw := ro.Hardware
	if hw == nil {
		host, _ := os.Hostname()
		hw = map[string]any{"os": runtime.GOOS, "arch": runtime.GOARCH, "cpus": runtime.NumCPU(), "host": host}
	}
	hwJSON, _ := json.Marshal(hw)
	flagsJSON, _ := json.Marshal(ro.Instance.Flags())
	opts := ro.Options.withDefaults(ro.Instance, len(ro.Samples))
	settings := registry.RunSettings{Engine: ro.Instance.Engine(), GPULayers: -1, OffloadedLayers: -1}
	if ro.Settings != nil {
		settings = *ro.Settings
	}
	settings.MaxTokens, settings.Concurrency = opts.MaxTokens, opts.Concurrency
	settingsJSON, _ := json.Marshal(settings)
	run := &registry.BenchmarkRun{ModelID: m.ModelID, Engine: ro.Instance.Engine(), EngineFlags: flagsJSON,
		Hardware: hwJSON, Samples: opts.Samples, Concurrency: opts.Concurrency, Settings: settingsJSON}
	if _, err := ro.DB.StartRun(ctx, run); err != nil {
		restore(err)
		return nil, 0, fmt.Errorf("bench: %w", err)
	}
	res, runErr := RunSamples(ctx, ro.Instance, ro.Samples, ro.Options)
	if res != nil {
		if res.Info.Engine == "" {
			res.Info = engine.Describe(ro.Instance)
		}
		completeSettings(&settings, res)
		run.Settings, _ = json.Marshal(settings)
		if ro.Estimate != nil && runErr == nil {
			run.Estimate, _ = json.Marshal(ro.Estimate(bg, settings))
		}
		fillRun(run, res)
		if err := ro.DB.AddOutputs(bg, run.ID, outputs(run.ID, res)); err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		run.Status, run.Error = registry.RunFailed, runErr.Error()
		if err := ro.DB.FinishRun(bg, run); err != nil {
			runErr = fmt.Errorf("%w (and recording the failure failed: %v)", runErr, err)
		}
		restore(runErr)
		return res, run.ID, fmt.Errorf("bench: run %d failed: %w", run.ID, runErr)
	}
	run.Status = registry.RunCompleted
	if err := ro.DB.FinishRun(bg, run); err != nil {
		restore(err)
		return res, run.ID, fmt.Errorf("bench: %w", err)
	}
	if err := ro.DB.UpdateMeasured(bg, m.ModelID, res.OutputTokS, res.TotalTokS); err != nil {
		restore(err)
		return res, run.ID, fmt.Errorf("bench: %w", err)
	}
	if err := ro.DB.SetDecode(bg, m.ModelID, res.Engine, res.DecodeTokS()); err != nil {
		restore(err)
		return res, run.ID, fmt.Errorf("bench: %w", err)
	}
	if err := ro.DB.SetStatus(bg, m.ModelID, registry.StatusTested, ""); err != nil {
		return res, run.ID, fmt.Errorf("bench: %w", err)
	}
	return res, run.ID, nil
}

func fillRun(run *registry.BenchmarkRun, r *Result) {
	run.Samples, run.Concurrency = len(r.PerSample), r.Concurrency
	run.OutputTokS, run.TotalTokS, run.PromptTokS, run.RequestsPerS = r.OutputTokS, r.TotalTokS, r.PromptTokS, r.RequestsPerS
	run.TTFTMeanMs, run.TTFTP50Ms, run.TTFTP95Ms, run.TTFTP99Ms = r.TTFT.Mean, r.TTFT.P50, r.TTFT.P95, r.TTFT.P99
	run.E2EMeanMs, run.E2EP50Ms, run.E2EP95Ms, run.E2EP99Ms = r.E2E.Mean, r.E2E.P50, r.E2E.P95, r.E2E.P99
	run.ITLMeanMs, run.ITLP50Ms, run.ITLP99Ms = r.ITL.Mean, r.ITL.P50, r.ITL.P99
	run.Errors, run.EngineTokS, run.DurationS = r.Errors, r.EngineDecodeTPS, r.Duration.Seconds()
	if r.Memory != nil {
		var src string
		run.MemGPUBytes, run.MemCPUBytes, src = r.Memory.Measured()
		if src == "ollama /api/ps" {
			// Without the server's log (a server fitbench did not start) the only
			// figure is /api/ps, which for the llama.cpp runner is Ollama's estimate.
			r.Info.Notes = append(r.Info.Notes, "memory from Ollama's /api/ps (no load log: the server was not started by fitbench); for its llama.cpp runner that is Ollama's own estimate")
		}
	}
	run.DecodeSource, run.HarnessE2ETokS, run.EngineRequestTokS = r.DecodeSource, r.HarnessE2ETPS, r.EngineRequestTPS
	run.PromptTokens, run.OutputTokens = r.PromptTokens, r.OutputTokens
	run.StopReasons, run.ErrorReasons = r.StopReasons, r.ErrorReasons
	run.EngineInfo, _ = json.Marshal(r.Info)
}

// completeSettings adds what the run itself says to the settings it was
// started with: the engine path and, from the load log, the cache type, batch
// sizes, flash attention and offloaded layers the engine actually used, and
// the mean cache length a decoded token attended over (prompt + half the
// output: step k of n attends over prompt + k cells).
func completeSettings(s *registry.RunSettings, r *Result) {
	if s.Sources == nil {
		s.Sources = map[string]string{}
	}
	if r.Info.Path != "" {
		s.EnginePath = r.Info.Path
		s.Sources["engine_path"] = "engine log"
	}
	if r.Memory != nil && r.Memory.Log != nil {
		l := r.Memory.Log
		if l.CacheTypeK != "" {
			s.CacheType = l.CacheTypeK
			s.Sources["cache_type"] = "load log"
		}
		if l.NBatch > 0 {
			s.NBatch, s.Sources["n_batch"] = l.NBatch, "load log"
		}
		if l.NUbatch > 0 {
			s.NUbatch, s.Sources["n_ubatch"] = l.NUbatch, "load log"
		}
		if l.FlashAttention != nil {
			s.FlashAttention, s.Sources["flash_attention"] = l.FlashAttention, "load log"
		}
		if l.NCtx > 0 {
			s.Sources["n_ctx"] = fmt.Sprintf("load log: n_ctx %d over %d sequence(s)", l.NCtx, max(l.NSeqMax, 1))
		}
		s.OffloadedLayers = l.OffloadedLayers
	}
	var kv float64
	n := 0
	for _, x := range r.PerSample {
		if x.Err == "" {
			kv += float64(x.PromptTokens) + float64(x.OutputTokens)/2
			n++
		}
	}
	if n > 0 {
		s.KVTokens = int(kv/float64(n) + 0.5)
	}
}

func outputs(runID int64, r *Result) []registry.Output {
	out := make([]registry.Output, 0, len(r.PerSample))
	for _, s := range r.PerSample {
		out = append(out, registry.Output{RunID: runID, SampleIndex: s.Index, PromptID: s.ID, Prompt: s.Prompt,
			Output: s.Output, PromptTokens: s.PromptTokens, OutputTokens: s.OutputTokens,
			TTFTMs: ms(s.TTFT), LatencyMs: ms(s.Latency), Error: s.Err, StopReason: s.StopReason})
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
