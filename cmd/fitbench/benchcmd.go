package main

import (
	"context"

	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

func init() {
	register(command{
		name:    "bench",
		summary: "benchmark an installed model on a real engine and record the results",
		usage: `fitbench bench ID|MODEL_ID [--samples N | --full] [--concurrency N] [--max-tokens N]
                 [--engine auto|ollama|llamacpp|vllm|openai] [--base-url URL --model NAME]
                 [--dataset FILE.jsonl] [--ctx N] [--parallel N] [--cache-type T] [--allow-errors] [--json] [--home DIR]

--dataset takes JSONL: OpenAI Batch API request lines ({"custom_id", "method", "url",
"body": {"messages": …}}) or plain {"prompt": …} lines. --full runs the 5,000-sample set.
--ctx is per sequence for every engine. The run is recorded with the estimate made for
exactly its settings; a run with failed samples exits 1 unless --allow-errors.`,
		run: runBench,
	})
}

func runBench(ctx context.Context, e env) error {
	fs := newFlagSet("bench", e)
	samples := fs.Int("samples", 100, "samples to run")
	full := fs.Bool("full", false, "the full benchmark: 5,000 generated samples")
	conc := fs.Int("concurrency", 0, "requests in flight (default: the engine's parallel slots)")
	maxTokens := fs.Int("max-tokens", 0, "max output tokens per sample (default 64)")
	ef := addEngineFlags(fs)
	dataset := fs.String("dataset", "", "JSONL file of prompts")
	ctxLen := fs.Int("ctx", 0, "context length per sequence to load the model with (default 2048)")
	parallel := fs.Int("parallel", 0, "engine parallel slots (sequences)")
	cacheType := fs.String("cache-type", "", "KV cache type: f16, q8_0, q4_0 (llama.cpp, Ollama); auto, fp8 (vLLM)")
	allowErrors := fs.Bool("allow-errors", false, "exit 0 even when some samples failed")
	asJSON := fs.Bool("json", false, "print the run as JSON")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if err := ef.check(); err != nil {
		return err
	}
	if *full {
		*samples = 5000
	}
	dir, db, m, err := openModel(ctx, *home, args, false)
	if err != nil {
		return err
	}
	defer db.Close()
	// A model another process installs or benchmarks is busy (issue 14.4).
	lock, err := install.TryLockModel(dir, m.ModelID)
	if err != nil {
		return err
	}
	defer lock.Release()
	cfg := benchConfig{engine: ef.name, baseURL: ef.baseURL, model: ef.model, ctx: *ctxLen, parallel: *parallel, cacheType: *cacheType,
		concurrency: *conc, maxTokens: *maxTokens, dataset: *dataset, full: *full, dataDir: dir.Root}
	b := cfg.benchmarker(db, cachedHardware())
	if cfg.dataset != "" { // fail on a bad file before starting an engine
		if _, err := b.Dataset(); err != nil {
			return err
		}
	}
	pp := newProgressPrinter(e.stderr)
	err = b.Benchmark(ctx, m.ModelID, *samples, func(done, total int) {
		pp.print(install.Event{ModelID: m.ModelID, Status: install.StatusBenchmarking, Sample: done, Samples: total,
			Progress: 100 * float64(done) / float64(max(total, 1))})
	})
	pp.finish()
	runID, _ := b.LastRun()
	var r *registry.BenchmarkRun
	if runID > 0 {
		r, _ = db.GetRun(ctx, runID)
	}
	if r != nil { // a failed run is reported too: its errors and reasons are the point
		if *asJSON {
			if jerr := writeJSON(e.stdout, r); jerr != nil {
				return jerr
			}
		} else if perr := printRun(e.stdout, r); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	return runErrors(r, *allowErrors)
}
