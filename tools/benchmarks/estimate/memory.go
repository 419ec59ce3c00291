package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	parser "github.com/gpustack/gguf-parser-go"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// four is weights, KV, compute, total in bytes.
type four [4]uint64

var kinds = [4]string{"weights", "kv", "compute", "total"}

// runMemory loads every model of the matrix under every setting and prints
// engine vs fitbench vs gguf-parser-go.
func runMemory(ctx context.Context, bin, dir string) error {
	models := estimatetest.Models
	paths, sums, err := estimatetest.WriteModels(filepath.Join(dir, "mem"), models)
	if err != nil {
		return err
	}
	fmt.Println("== memory: engine (Ollama CPU log lines) vs fitbench vs gguf-parser-go v0.28.1 ==")
	fmt.Printf("%-12s %5s %3s %5s | %8s %8s %8s %8s | %-29s | %-29s\n", "model", "ctx", "par", "cache",
		"w MiB", "kv MiB", "cmp MiB", "tot MiB", "fitbench err% w/kv/cmp/tot", "gguf-parser err% w/kv/cmp/tot")
	var ours, theirs [4][]float64
	for _, g := range estimatetest.Groups {
		srv, err := ollamatest.StartProcess(bin, ollamatest.Options{Env: g.Env}, filepath.Join(dir, fmt.Sprintf("srv-%d-%s", g.Parallel, g.Cache)))
		if err != nil {
			return err
		}
		err = memGroup(ctx, srv, g, paths, sums, &ours, &theirs)
		srv.Stop()
		if err != nil {
			return err
		}
	}
	fmt.Printf("\n%-20s %10s %10s %10s %10s\n", "median |error| %", "weights", "kv", "compute", "total")
	for _, row := range []struct {
		name string
		errs [4][]float64
	}{{"fitbench", ours}, {"gguf-parser-go", theirs}} {
		fmt.Printf("%-20s", row.name)
		for k := range kinds {
			fmt.Printf(" %10.2f", median(absAll(row.errs[k])))
		}
		fmt.Println()
	}
	fmt.Printf("%-20s", "ratio parser/ours")
	for k := range kinds {
		o, t := median(absAll(ours[k])), median(absAll(theirs[k]))
		if t < 0.01 && o < 0.01 {
			fmt.Printf(" %10s", "both ~0")
			continue
		}
		fmt.Printf(" %9.0f×", t/math.Max(o, 0.01))
	}
	fmt.Printf("\n%-20s", "max |error| fitbench")
	for k := range kinds {
		m := 0.0
		for _, e := range ours[k] {
			m = math.Max(m, math.Abs(e))
		}
		fmt.Printf(" %10.2f", m)
	}
	fmt.Printf("\n(%d cases; ratio = gguf-parser's median |error| over fitbench's, floor 0.01%%)\n", len(ours[0]))
	return nil
}

func memGroup(ctx context.Context, srv *ollamatest.Server, g estimatetest.Group, paths []string, sums []gguf.Summary, ours, theirs *[4][]float64) error {
	for i, p := range paths {
		name := fmt.Sprintf("m%d", i)
		if err := estimatetest.ImportModel(ctx, srv.URL, name, p); err != nil {
			return err
		}
		pf, err := parser.ParseGGUFFile(p)
		if err != nil {
			return fmt.Errorf("gguf-parser %s: %w", p, err)
		}
		for _, c := range g.Ctxs {
			off := len(srv.Log())
			if _, err := estimatetest.Generate(ctx, srv.URL, name, estimatetest.GenOptions{NumCtx: c, Predict: 1}); err != nil {
				return err
			}
			got := llamalog.Parse(srv.LogSince(off))
			eng := four{got.Total(llamalog.Weights), got.Total(llamalog.KV), got.Total(llamalog.Compute), got.Sum()}
			r := estimate.Analyze(estimate.Input{Summary: sums[i], Engine: estimate.EngineOllama, Context: c,
				Parallel: g.Parallel, CacheType: g.Cache, Target: cpuTarget()})
			d := r.Memory.Devices[len(r.Memory.Devices)-1]
			fb := four{d.WeightsBytes, d.KVBytes, d.ComputeBytes, d.TotalBytes}
			flash := r.FlashAttention
			if got.FlashAttention != nil {
				flash = *got.FlashAttention
			}
			gp := parserEstimate(pf, c, g.Parallel, g.Cache, flash)
			fmt.Printf("%-12s %5d %3d %5s | %8.2f %8.2f %8.2f %8.2f |", estimatetest.Models[i].Name, c, g.Parallel,
				cacheName(g.Cache), mib(eng[0]), mib(eng[1]), mib(eng[2]), mib(eng[3]))
			for k := range kinds {
				e := relErr(float64(fb[k]), float64(eng[k]))
				ours[k] = append(ours[k], e)
				fmt.Printf(" %+6.2f", e)
			}
			fmt.Print(" |")
			for k := range kinds {
				e := relErr(float64(gp[k]), float64(eng[k]))
				theirs[k] = append(theirs[k], e)
				fmt.Printf(" %+6.1f", e)
			}
			fmt.Println()
		}
	}
	return nil
}

// parserEstimate is gguf-parser-go's CPU-only estimate for the same load as
// Ollama's: n_ctx = num_ctx × parallel, n_batch = n_ubatch = min(512, num_ctx),
// no layers offloaded. Compute excludes its host-side "footprint" (graph
// metadata, not part of the compute buffer llama.cpp prints).
func parserEstimate(f *parser.GGUFFile, numCtx, par int, cache string, flash bool) four {
	ub := int32(min(512, numCtx))
	opts := []parser.GGUFRunEstimateOption{
		parser.WithLLaMACppContextSize(int32(numCtx * par)),
		parser.WithParallelSize(int32(par)),
		parser.WithLLaMACppLogicalBatchSize(ub),
		parser.WithLLaMACppPhysicalBatchSize(ub),
		parser.WithLLaMACppOffloadLayers(0),
	}
	if flash {
		opts = append(opts, parser.WithFlashAttention())
	}
	if cache == "q8_0" {
		opts = append(opts, parser.WithLLaMACppCacheKeyType(parser.GGMLTypeQ8_0), parser.WithLLaMACppCacheValueType(parser.GGMLTypeQ8_0))
	}
	e := f.EstimateLLaMACppRun(opts...)
	if len(e.Devices) == 0 {
		return four{}
	}
	d := e.Devices[0]
	w := uint64(d.Weight.Sum())
	kv := uint64(d.KVCache.Sum())
	cmp := uint64(d.Computation.Sum() - d.Computation.Footprint)
	return four{w, kv, cmp, w + kv + cmp}
}

func cacheName(c string) string {
	if c == "" {
		return "f16"
	}
	return c
}
