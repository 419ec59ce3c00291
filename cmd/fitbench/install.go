package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/fitbench/fitbench/internal/install"
)

func init() {
	register(command{
		name:    "install",
		summary: "download, verify, register and benchmark a model variant",
		usage: `fitbench install INPUT [--quant Q | --file F] [--no-bench] [--samples N] [--engine E] [--home DIR]

INPUT is a Hugging Face URL, org/repo[:QUANT], or - for a pasted page on stdin.
Interrupted downloads resume when the command is run again.`,
		run: runInstall,
	})
}

func runInstall(ctx context.Context, e env) error {
	fs := newFlagSet("install", e)
	quant := fs.String("quant", "", "variant by quant tag")
	file := fs.String("file", "", "variant by file name")
	noBench := fs.Bool("no-bench", false, "skip the benchmark (the model is registered untested)")
	samples := fs.Int("samples", 100, "benchmark samples")
	engineName := fs.String("engine", "auto", "benchmark engine: auto, ollama, llamacpp, vllm")
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
	req, err := installRequest(input, *quant, *file)
	if err != nil {
		return err
	}
	req.Benchmark, req.Samples = !*noBench, *samples
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
	if !*noBench {
		cfg.Bench = benchConfig{engine: *engineName, maxTokens: *maxTokens, dataDir: dir.Root}.benchmarker(db, hw)
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
	if err != nil {
		return err
	}
	m, gerr := db.GetModel(ctx, job.ModelID)
	if gerr != nil {
		return gerr
	}
	fmt.Fprintf(e.stdout, "installed %s (id %d, %s) at %s\n", m.ModelID, m.ID, m.Status, m.LocalPath)
	if m.ThroughputTokensPerSec > 0 {
		fmt.Fprintf(e.stdout, "measured decode %.1f tok/s (estimate was ~%.0f); benchmark %.1f output tok/s, %.1f total tok/s\n",
			m.DecodeTokS, m.EstimatedThroughput, m.OutputTokS, m.TotalTokS)
	}
	return nil
}
