package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/fitbench/fitbench/internal/install"
)

func init() {
	register(command{
		name:    "bench",
		summary: "benchmark an installed model on a real engine and record the results",
		usage: `fitbench bench ID|MODEL_ID [--samples N | --full] [--concurrency N] [--max-tokens N]
                 [--engine auto|ollama|llamacpp|vllm|openai] [--base-url URL --model NAME]
                 [--dataset FILE.jsonl] [--ctx N] [--parallel N] [--json] [--home DIR]

--dataset takes JSONL: OpenAI Batch API request lines ({"custom_id", "method", "url",
"body": {"messages": …}}) or plain {"prompt": …} lines. --full runs the 5,000-sample set.`,
		run: runBench,
	})
}

func runBench(ctx context.Context, e env) error {
	fs := newFlagSet("bench", e)
	samples := fs.Int("samples", 100, "samples to run")
	full := fs.Bool("full", false, "the full benchmark: 5,000 generated samples")
	conc := fs.Int("concurrency", 0, "requests in flight (default: the engine's parallel slots)")
	maxTokens := fs.Int("max-tokens", 0, "max output tokens per sample (default 64)")
	engineName := fs.String("engine", "auto", "engine: auto, ollama, llamacpp, vllm, openai")
	baseURL := fs.String("base-url", "", "openai engine: the server's base URL (…/v1)")
	model := fs.String("model", "", "openai engine: the model name to request")
	dataset := fs.String("dataset", "", "JSONL file of prompts")
	ctxLen := fs.Int("ctx", 0, "context length to load the model with (default 2048)")
	parallel := fs.Int("parallel", 0, "engine parallel slots")
	asJSON := fs.Bool("json", false, "print the run as JSON")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if *full {
		*samples = 5000
	}
	dir, db, m, err := openModel(ctx, *home, args)
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
	cfg := benchConfig{engine: *engineName, baseURL: *baseURL, model: *model, ctx: *ctxLen, parallel: *parallel,
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
	if err != nil {
		return err
	}
	runs, err := db.ListRuns(ctx, m.ModelID)
	if err != nil || len(runs) == 0 {
		return err
	}
	r := runs[len(runs)-1]
	for _, x := range runs {
		if x.ID > r.ID {
			r = x
		}
	}
	if *asJSON {
		return writeJSON(e.stdout, r)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Run", fmt.Sprintf("%d on %s, %d samples at concurrency %d, %.1f s", r.ID, r.Engine, r.Samples, r.Concurrency, r.DurationS))
	row("Output", fmt.Sprintf("%.1f tok/s (harness)   engine-reported decode %.1f tok/s", r.OutputTokS, r.EngineTokS))
	row("Total", fmt.Sprintf("%.1f tok/s (prompt %.1f tok/s), %.2f requests/s", r.TotalTokS, r.PromptTokS, r.RequestsPerS))
	row("TTFT", fmt.Sprintf("mean %.0f  p50 %.0f  p95 %.0f  p99 %.0f ms", r.TTFTMeanMs, r.TTFTP50Ms, r.TTFTP95Ms, r.TTFTP99Ms))
	row("Latency", fmt.Sprintf("mean %.0f  p50 %.0f  p95 %.0f  p99 %.0f ms", r.E2EMeanMs, r.E2EP50Ms, r.E2EP95Ms, r.E2EP99Ms))
	row("ITL", fmt.Sprintf("mean %.1f  p50 %.1f  p99 %.1f ms", r.ITLMeanMs, r.ITLP50Ms, r.ITLP99Ms))
	row("Memory", fmt.Sprintf("GPU %s, CPU %s (measured)", size(float64(r.MemGPUBytes)), size(float64(r.MemCPUBytes))))
	row("Errors", fmt.Sprintf("%d", r.Errors))
	row("Estimate", fmt.Sprintf("~%.0f tok/s before this run; throughput_tokens_per_sec now %.1f (output tok/s)", m.EstimatedThroughput, r.OutputTokS))
	return tw.Flush()
}
