package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/source"
)

func init() {
	register(command{
		name:    "analyze",
		summary: "will a model fit, how fast, how good — from a URL, org/repo[:QUANT], page text (-) or a .gguf",
		usage: `fitbench analyze INPUT [--quant Q | --file F] [--gpu NAME[,NAME…]] [--vram GB[,GB…]] [--gpus N] [--tensor-split A,B…] [--ram GB] [--cpu-only]
                 [--ctx N] [--parallel N] [--cache-type f16|q8_0|q4_0] [--engine llamacpp|ollama|vllm] [--json] [--list]

INPUT is a Hugging Face URL, org/repo, org/repo:QUANT, "-" to read a whole
copied model page from standard input, or a local .gguf path (the first shard
of a split model).`,
		run: runAnalyze,
	})
}

func runAnalyze(ctx context.Context, e env) error {
	fs := newFlagSet("analyze", e)
	quant := fs.String("quant", "", "variant by quant tag (Q4_K_M, Q8_0, …)")
	file := fs.String("file", "", "variant by file name")
	target := addTargetFlags(fs)
	ctxLen := fs.Int("ctx", 0, "context length per sequence (default min(training context, 8192))")
	parallel := fs.Int("parallel", 0, "parallel sequences (default 1)")
	cacheType := fs.String("cache-type", "", "KV cache type: f16 (default), q8_0, q4_0")
	engineName := fs.String("engine", "", "engine family: llamacpp (default), ollama, vllm")
	asJSON := fs.Bool("json", false, "print JSON")
	list := fs.Bool("list", false, "only list the repo's variants (no estimate)")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	hwo, err := target.override()
	if err != nil {
		return err
	}
	input, err := oneInput(e, args, "a URL, org/repo[:QUANT], - for stdin, or a .gguf path")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if err != nil && *asJSON {
			_ = jsonError(e.stdout, err)
		}
		return err
	}
	h := newHub()
	if *list {
		return fail(runList2(ctx, e, h, input, *asJSON))
	}
	var db *registry.DB
	if _, d, err := openRegistryRead(*home); err == nil {
		db = d
		defer db.Close()
	}
	a := newAnalyzer(h, db, cachedHardware())
	res, err := a.Analyze(ctx, analyze.Request{Input: input, Quant: *quant, File: *file,
		Hardware: hwo,
		Context:  *ctxLen, Parallel: *parallel, CacheType: *cacheType, Engine: *engineName})
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		return writeJSON(e.stdout, res)
	}
	printReport(e.stdout, res)
	return nil
}

// runList2 prints the repo's variants as listed by the Hub (analyze --list).
func runList2(ctx context.Context, e env, h *hub.Client, input string, asJSON bool) error {
	ref, err := source.Parse(input)
	if err != nil {
		return err
	}
	l, err := h.Variants(ctx, ref.Repo, ref.Revision)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e.stdout, l)
	}
	fmt.Fprintf(e.stdout, "%s @ %s\n", l.Repo, l.Commit)
	for _, v := range l.Variants {
		fmt.Fprintf(e.stdout, "  %-12s %9.2f GB  %s\n", orQ(v.Quant), float64(v.SizeBytes)/1e9, fileList(v))
		for _, f := range v.Files {
			fmt.Fprintf(e.stdout, "      %s  %d bytes  sha256 %s\n", f.Path, f.Size, f.SHA256)
		}
	}
	return nil
}

func orQ(q string) string {
	if q == "" {
		return "(unnamed)"
	}
	return q
}

func fileList(v hub.Variant) string {
	if len(v.Files) == 1 {
		return v.Files[0].Path
	}
	return fmt.Sprintf("%d shards in %s", len(v.Files), strings.TrimSuffix(v.Dir, "/")+"/")
}
