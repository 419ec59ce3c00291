// Command batch measures what the batch-job machinery costs: the output
// tok/s of a batch job (Batch API lines in, output and error files written
// and fsynced, every line committed to SQLite) against the benchmark
// harness's output tok/s on the same model, same prompts, same max_tokens and
// the same concurrency, on one Ollama server. Goal: batch ≥ 0.95 × harness.
// Both are measured in this run, alternating, with a unique prefix on every
// prompt so that neither profits from the other's prefix cache.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/batch"
	"github.com/fitbench/fitbench/internal/bench"
	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

func main() {
	samples := flag.Int("samples", 40, "requests per measurement")
	maxTokens := flag.Int("max-tokens", 16, "output tokens per request")
	rounds := flag.Int("rounds", 3, "measurements of each (the median is reported)")
	threads = flag.Int("threads", 1, "engine CPU threads (0: the engine's default; more only contend on a shared machine)")
	flag.Parse()
	if err := run(*samples, *maxTokens, *rounds); err != nil {
		log.Fatal(err)
	}
}

var threads *int

func run(samples, maxTokens, rounds int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin, err := ollamatest.Binary()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fitbench-batch-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The smallest real model: per-request costs of the job machinery (line
	// read and hash, fsync, SQLite commit) weigh most when each answer is cheap.
	spec := synth.Tiny
	spec.Seed = 7
	paths, err := synth.Write(dir, "batch-bench", spec)
	if err != nil {
		return err
	}
	inst, err := (&engine.Ollama{Binary: bin, AlwaysStart: true, Env: []string{"HOME=" + dir}}).Start(ctx,
		engine.Settings{ModelPath: paths[0], ModelID: "fitbench/batch-bench:F16", GPULayers: -1, Ctx: 1024, Parallel: 2, Threads: *threads, LogDir: dir})
	if err != nil {
		return err
	}
	defer inst.Stop(context.Background())
	db, err := registry.Open(filepath.Join(dir, "registry.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	set, err := bench.Builtin()
	if err != nil {
		return err
	}
	fmt.Printf("batch benchmark: Ollama (CPU, OLLAMA_NUM_PARALLEL=2), synth model %d layers × %d embd, %d requests × %d max tokens, median of %d\n\n",
		spec.Layers, spec.Embd, samples, maxTokens, rounds)
	fmt.Printf("%-12s %18s %18s %8s\n", "concurrency", "harness tok/s", "batch job tok/s", "ratio")
	for _, c := range []int{1, 2} {
		var h, b []float64
		for r := 0; r < rounds; r++ {
			hr, err := bench.RunSamples(ctx, inst, set, bench.Options{Samples: samples, Concurrency: c, MaxTokens: maxTokens,
				Warmup: c, BustCache: true})
			if err != nil {
				return err
			}
			h = append(h, hr.OutputTokS)
			bt, err := batchRun(ctx, db, dir, inst, set, samples, maxTokens, c, fmt.Sprintf("c%d-r%d", c, r))
			if err != nil {
				return err
			}
			b = append(b, bt)
		}
		hm, bm := median(h), median(b)
		fmt.Printf("%-12d %18.1f %18.1f %8.3f\n", c, hm, bm, bm/hm)
	}
	fmt.Println("\nratio = batch job output tok/s ÷ harness output tok/s (goal ≥ 0.95)")
	return nil
}

// batchRun writes the samples as Batch API lines and runs them as a job.
func batchRun(ctx context.Context, db *registry.DB, dir string, inst engine.Instance, set []bench.Sample, n, maxTokens, conc int, tag string) (float64, error) {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		s := set[i%len(set)]
		msgs := append([]engine.Message(nil), s.Messages...)
		k := len(msgs) - 1
		msgs[k].Content = fmt.Sprintf("[%s-%d] %s", tag, i, msgs[k].Content)
		line, _ := json.Marshal(map[string]any{"custom_id": fmt.Sprintf("%s-%d", tag, i), "method": "POST",
			"url": "/v1/chat/completions", "body": map[string]any{"messages": msgs, "max_tokens": maxTokens, "temperature": 0}})
		sb.Write(line)
		sb.WriteByte('\n')
	}
	in := filepath.Join(dir, tag+".jsonl")
	if err := os.WriteFile(in, []byte(sb.String()), 0o644); err != nil {
		return 0, err
	}
	job, err := batch.Create(ctx, db, batch.CreateOptions{DataDir: dir, Input: in})
	if err != nil {
		return 0, err
	}
	j, err := batch.Run(ctx, db, job.ID, inst, batch.Options{Concurrency: conc})
	if err != nil {
		return 0, err
	}
	if j.State != registry.BatchCompleted || j.DoneLines != n {
		return 0, fmt.Errorf("batch job %d: %s, %d of %d done (%s)", j.ID, j.State, j.DoneLines, n, j.Error)
	}
	return j.OutputTokS, nil
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)/2]
}
