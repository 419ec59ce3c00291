package estimate_test

// Checks the llama.cpp-family estimate against the real engine: generated models
// are loaded by the test Ollama (CPU) and the buffer sizes its llama.cpp runner
// prints are compared with ours. This file is an external test package so that
// package estimate itself stays free of I/O.

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

func TestEstimateMatchesOllama(t *testing.T) {
	ollamatest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	models := estimatetest.Models
	paths, sums, err := estimatetest.WriteModels(t.TempDir(), models)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range estimatetest.Groups {
		srv := ollamatest.Start(t, ollamatest.Options{Env: g.Env})
		for i, p := range paths {
			name := fmt.Sprintf("m%d", i)
			if err := estimatetest.ImportModel(ctx, srv.URL, name, p); err != nil {
				t.Fatal(err)
			}
			for _, c := range g.Ctxs {
				off := len(srv.Log())
				if _, err := estimatetest.Generate(ctx, srv.URL, name, estimatetest.GenOptions{NumCtx: c, Predict: 1}); err != nil {
					t.Fatal(err)
				}
				got := llamalog.Parse(srv.LogSince(off))
				r := estimate.Analyze(estimate.Input{Summary: sums[i], Engine: estimate.EngineOllama, Context: c,
					Parallel: g.Parallel, CacheType: g.Cache, Target: estimate.Target{RAMBytes: 1 << 34}})
				cpu := r.Memory.Devices[len(r.Memory.Devices)-1]
				label := fmt.Sprintf("%s ctx=%d par=%d cache=%q", models[i].Name, c, g.Parallel, g.Cache)
				check(t, label, "weights", cpu.WeightsBytes, got.Total(llamalog.Weights), 0.01)
				check(t, label, "kv", cpu.KVBytes, got.Total(llamalog.KV), 0.01)
				// the replay follows ggml-alloc's rules and the engines' leaf and
				// node order: every case of the matrix is within 0.05% today
				ct, tt := 0.01, 0.01
				check(t, label, "compute", cpu.ComputeBytes, got.Total(llamalog.Compute), ct)
				check(t, label, "total", cpu.TotalBytes, got.Sum(), tt)
				n++
			}
		}
		srv.Stop()
	}
	if n < 6*4 {
		t.Fatalf("only %d engine comparisons ran", n)
	}
}

func check(t *testing.T, label, what string, ours, engine uint64, tol float64) {
	t.Helper()
	if engine == 0 {
		t.Errorf("%s: engine printed no %s line", label, what)
		return
	}
	e := (float64(ours) - float64(engine)) / float64(engine)
	t.Logf("%-44s %-8s ours %10d engine %10d  %+.2f%%", label, what, ours, engine, 100*e)
	// the engine prints MiB with two decimals: allow that rounding too
	if math.Abs(e) > tol && math.Abs(float64(ours)-float64(engine)) > 6<<10 {
		t.Errorf("%s: %s ours %d vs engine %d (%+.2f%%, tolerance %.0f%%)", label, what, ours, engine, 100*e, 100*tol)
	}
}
