// Command harness measures the benchmark harness against the engine it drives:
// its overhead at concurrency 1 (the harness's decode rate vs Ollama's own
// eval_count/eval_duration; goal within 2%) and throughput scaling at
// concurrency 1, 2 and 4 against one Ollama server with OLLAMA_NUM_PARALLEL=4.
// The baseline of every ratio is measured in the same run.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/fitbench/fitbench/internal/bench"
	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

func main() {
	samples := flag.Int("samples", 40, "samples per measurement")
	maxTokens := flag.Int("max-tokens", 28, "output tokens per request (Ollama stops answers after 30 repeats of one token)")
	flag.Parse()
	if err := run(*samples, *maxTokens); err != nil {
		log.Fatal(err)
	}
}

func run(samples, maxTokens int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin, err := ollamatest.Binary()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fitbench-harness-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	spec := synth.Tiny
	spec.Layers, spec.Embd, spec.Heads, spec.KVHeads, spec.FF, spec.Seed = 4, 256, 4, 2, 512, 7
	paths, err := synth.Write(dir, "harness", spec)
	if err != nil {
		return err
	}
	inst, err := (&engine.Ollama{Binary: bin, AlwaysStart: true, Env: []string{"HOME=" + dir}}).Start(ctx,
		engine.Settings{ModelPath: paths[0], ModelID: "fitbench/harness:F16", GPULayers: -1, Ctx: 1024, Parallel: 4, LogDir: dir})
	if err != nil {
		return err
	}
	defer inst.Stop(context.Background())
	set, err := bench.Builtin()
	if err != nil {
		return err
	}
	fmt.Printf("harness benchmark: Ollama (CPU, OLLAMA_NUM_PARALLEL=4), synth model %d layers × %d embd, %d samples, %d max tokens\n\n",
		spec.Layers, spec.Embd, samples, maxTokens)

	r1, err := bench.RunSamples(ctx, inst, set, bench.Options{Samples: samples, Concurrency: 1, MaxTokens: maxTokens, Warmup: 2})
	if err != nil {
		return err
	}
	// The stream-timed rate is not a figure fitbench reports when the engine
	// times itself (chunks arrive in bursts on a busy machine); it is computed
	// here only to show how far the harness's view is from the engine's.
	var stream []float64
	for _, s := range r1.PerSample {
		if s.DecodeTPS > 0 {
			stream = append(stream, s.DecodeTPS)
		}
	}
	streamTPS := 0.0
	for _, v := range stream {
		streamTPS += v / float64(len(stream))
	}
	fmt.Println("Harness vs engine at concurrency 1")
	fmt.Printf("%-52s %10s %8s\n", "figure", "tok/s", "ratio")
	fmt.Printf("%-52s %10.1f %8.3f\n", "engine decode steps / eval time (baseline)", r1.EngineDecodeTPS, 1.0)
	fmt.Printf("%-52s %10.1f %8.3f\n", "harness: output tokens / end-to-end time, per request", r1.HarnessE2ETPS, r1.HarnessE2ETPS/r1.EngineDecodeTPS)
	fmt.Printf("%-52s %10.1f %8.3f\n", "harness stream timing (pieces-1)/(last-first piece)", streamTPS, streamTPS/r1.EngineDecodeTPS)
	fmt.Println()

	fmt.Println("Throughput scaling (same engine, same samples)")
	fmt.Printf("%-12s %12s %12s %10s %10s %12s %8s\n", "concurrency", "output tok/s", "total tok/s", "req/s", "ttft p50", "e2e p50", "× c=1")
	var base float64
	for _, c := range []int{1, 2, 4} {
		r, err := bench.RunSamples(ctx, inst, set, bench.Options{Samples: samples, Concurrency: c, MaxTokens: maxTokens, Warmup: c})
		if err != nil {
			return err
		}
		if c == 1 {
			base = r.OutputTokS
		}
		fmt.Printf("%-12d %12.1f %12.1f %10.2f %8.1fms %10.1fms %8.2f\n", c, r.OutputTokS, r.TotalTokS, r.RequestsPerS,
			r.TTFT.P50, r.E2E.P50, r.OutputTokS/base)
	}
	return nil
}
