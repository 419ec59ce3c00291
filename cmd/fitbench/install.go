package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

func init() {
	register(command{
		name:    "install",
		summary: "download, verify, register and benchmark a model variant",
		usage: `fitbench install INPUT [--quant Q | --file F] [--no-bench] [--samples N] [--allow-errors] [--verify]
                 [--engine auto|ollama|llamacpp|vllm|openai [--base-url URL --model NAME]] [--home DIR]

INPUT is a Hugging Face URL, org/repo[:QUANT], or - for a pasted page on stdin.
Interrupted downloads resume when the command is run again. Installing a
variant that is already installed reads its local header and trusts the sha256
recorded at download; --verify re-hashes it. A benchmark with
failed samples makes the command exit 1 (the model stays installed) unless
--allow-errors is given.`,
		run: runInstall,
	})
}

func runInstall(ctx context.Context, e env) error {
	fs := newFlagSet("install", e)
	quant := fs.String("quant", "", "variant by quant tag")
	file := fs.String("file", "", "variant by file name")
	noBench := fs.Bool("no-bench", false, "skip the benchmark (the model is registered untested)")
	samples := fs.Int("samples", 100, "benchmark samples")
	ef := addEngineFlags(fs)
	allowErrors := fs.Bool("allow-errors", false, "exit 0 even when some benchmark samples failed")
	verify := fs.Bool("verify", false, "re-hash an already installed variant (default: trust the sha256 recorded at download)")
	maxTokens := fs.Int("max-tokens", 0, "benchmark: max output tokens per sample (default 64)")
	parts := fs.Int("parts", 0, "parallel connections per file (default from the file size)")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	input, err := oneInput(e, args, "a URL, org/repo[:QUANT] or - for stdin")
	if err != nil {
		return err
	}
	if err := ef.check(); err != nil {
		return err
	}
	req, err := installRequest(input, *quant, *file)
	if err != nil {
		return err
	}
	req.Benchmark, req.Samples, req.Verify = !*noBench, *samples, *verify
	dir, db, err := openRegistry(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	h := newHub()
	hw := cachedHardware()
	dl := install.NewDownloader()
	dl.Options.Parts = *parts
	// Progress and errors reach the user through the printer and the exit
	// message; the pipeline's own log would only repeat them.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := install.Config{DB: db, Dir: dir, Hub: h, Fetcher: dl, Estimator: &variantEstimator{a: newAnalyzer(h, db, hw)}, Logger: quiet}
	var eb *install.EngineBench
	if !*noBench {
		eb = benchConfig{engine: ef.name, baseURL: ef.baseURL, model: ef.model, maxTokens: *maxTokens, dataDir: dir.Root}.benchmarker(db, hw)
		cfg.Bench = eb
	}
	mgr := install.New(cfg)
	pp := newProgressPrinter(e.stderr)
	done := make(chan struct{})
	started := make(chan string, 1)
	go func() {
		defer close(done)
		id, ok := <-started
		if !ok {
			return
		}
		events, cancel := mgr.Bus().Subscribe(id)
		defer cancel()
		for ev := range events {
			pp.print(ev)
		}
	}()
	job, err := mgr.InstallWith(ctx, req, func(modelID string) { started <- modelID })
	close(started)
	<-done
	pp.finish()
	var run *registry.BenchmarkRun
	if eb != nil {
		if id, _ := eb.LastRun(); id > 0 {
			run, _ = db.GetRun(ctx, id)
		}
	}
	if err != nil {
		if run != nil { // the benchmark failed: show what it measured and why it failed
			_ = printRun(e.stdout, run)
		}
		return err
	}
	m, gerr := db.GetModel(ctx, job.ModelID)
	if gerr != nil {
		return gerr
	}
	fmt.Fprintf(e.stdout, "installed %s (id %d, %s) at %s\n", m.ModelID, m.ID, m.Status, m.LocalPath)
	if m.Projector != nil {
		fmt.Fprintf(e.stdout, "vision projector at %s (given to the engine with the model)\n", m.Projector.Path)
	}
	if run != nil {
		fmt.Fprintln(e.stdout, "\nBenchmark (each measurement beside the estimate for the run's own settings):")
		if err := printRun(e.stdout, run); err != nil {
			return err
		}
	}
	return runErrors(run, *allowErrors)
}
