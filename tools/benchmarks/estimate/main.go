// Command estimate measures fitbench's estimates against the real engine (the
// CPU test Ollama), in one run:
//
//   - memory: for every generated model × setting of the shared matrix
//     (internal/estimate/estimatetest), the weights/KV/compute/total buffers
//     llama.cpp prints when Ollama loads the model, beside fitbench's estimate and
//     gguf-parser-go's (EstimateLLaMACppRun with the same context, parallel,
//     batch, cache type and flash attention), error % and medians;
//   - arch: the architecture matrix of internal/archtest (qwen3, gemma3, gpt-oss,
//     DeepSeek MLA, hybrids, … × ctx 2048/8192 × parallel 1/2) on the engine path
//     Ollama really takes (its own engine or its llama.cpp runner), engine path
//     predicted, error % against the exact bytes in Ollama's log, gguf-parser-go beside;
//   - speed: decode tok/s measured by Ollama (eval_count/eval_duration) for each
//     model, beside fitbench's uncalibrated estimate and the estimate calibrated
//     on one model's measurement (goal: within ±30% on this CPU).
//
// Only this program imports gguf-parser-go; the fitbench binary does not.
//
//	go run ./tools/benchmarks/estimate [-tokens 64] [-runs 3] [-threads 1] [-calib s-q8-big]
//	    [-models m-f16,s-f16-big] [-memory=true] [-arch=true] [-speed=true]
//
// About 80 s on a shared 2-core machine (memory ≈ 30 s, speed ≈ 50 s).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

func main() {
	tokens := flag.Int("tokens", 64, "tokens generated per speed run")
	runs := flag.Int("runs", 3, "speed runs per model (the median is reported)")
	calib := flag.String("calib", "s-q8-big", "model whose measurement calibrates the speed model")
	doMem := flag.Bool("memory", true, "run the memory accuracy table")
	doSpeed := flag.Bool("speed", true, "run the speed table")
	doArch := flag.Bool("arch", true, "run the architecture matrix (internal/archtest) accuracy table")
	threads := flag.Int("threads", 1, "num_thread for speed runs (1 avoids ggml's spinning thread barrier on a shared, oversubscribed CPU; 0 = Ollama's default)")
	models := flag.String("models", "", "comma-separated speed models to run (default all)")
	flag.Parse()
	speedThreads = *threads
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin, err := ollamatest.Binary()
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "fitbench-estimate-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	if *doMem {
		if err := runMemory(ctx, bin, dir); err != nil {
			fail(err)
		}
	}
	if *doArch {
		if err := runArchMatrix(ctx, bin, dir); err != nil {
			fail(err)
		}
	}
	if *doSpeed {
		if err := runSpeed(ctx, bin, dir, *tokens, *runs, *threads, *calib, set(*models)); err != nil {
			fail(err)
		}
	}
	fmt.Printf("\ntotal wall time %s\n", time.Since(start).Round(time.Second))
}

func set(csv string) map[string]bool {
	if csv == "" {
		return nil
	}
	m := map[string]bool{}
	for _, s := range strings.Split(csv, ",") {
		m[strings.TrimSpace(s)] = true
	}
	return m
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "estimate benchmark:", err)
	os.Exit(1)
}

// speedThreads is the num_thread the speed runs use (0 = Ollama's default,
// taken as all logical CPUs); the target tells the estimate the same.
var speedThreads = 1

// cpuTarget is the machine the estimates are for: this CPU with the threads the
// engine runs, RAM bandwidth from FITBENCH_RAM_BW or the documented default.
func cpuTarget() estimate.Target {
	bw := estimate.DefaultCPUBandwidth
	if v, err := strconv.ParseFloat(os.Getenv("FITBENCH_RAM_BW"), 64); err == nil && v > 0 {
		bw = v
	}
	th := speedThreads
	if th <= 0 {
		th = runtime.NumCPU()
	}
	return estimate.Target{RAMBytes: 1 << 34, CPUBandwidth: bw, CPUThreads: th}
}

// relErr is (ours − ref)/ref in percent.
func relErr(ours, ref float64) float64 {
	if ref == 0 {
		return math.NaN()
	}
	return 100 * (ours - ref) / ref
}

func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func absAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Abs(x)
	}
	return out
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
