package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// speedModels adds larger models to the matrix so that decode spans the range
// from fixed-cost-bound (0.5 MB) to memory-bound (≈200 MB, well beyond the CPU
// caches).
var speedModels = append(append([]synth.Spec{}, estimatetest.Models...),
	synth.Spec{Name: "s-q8-big", Layers: 8, Embd: 1024, Heads: 16, KVHeads: 4, FF: 2816, Vocab: 8000, Ctx: 4096, WeightType: gguf.TypeQ8_0, Seed: 11},
	synth.Spec{Name: "s-f16-big", Layers: 8, Embd: 1024, Heads: 16, KVHeads: 4, FF: 2816, Vocab: 8000, Ctx: 4096, WeightType: gguf.TypeF16, Seed: 12},
	synth.Spec{Name: "s-q4-wide", Layers: 6, Embd: 2048, Heads: 16, KVHeads: 4, FF: 5632, Vocab: 8000, Ctx: 4096, WeightType: gguf.TypeQ4_0, Seed: 13},
)

const speedCtx = 2048

type speedRow struct {
	name     string
	sum      gguf.Summary
	measured float64 // median engine decode tok/s
	kvTokens int
	spread   float64 // (max − min)/median of the runs: the noise of this machine
}

// runSpeed measures decode speed for every model, then compares fitbench's
// estimate (defaults, and calibrated on calibName alone) with it.
func runSpeed(ctx context.Context, bin, dir string, tokens, runs, threads int, calibName string, only map[string]bool) error {
	var specs []synth.Spec
	for _, m := range speedModels {
		if only == nil || only[m.Name] || m.Name == calibName {
			specs = append(specs, m)
		}
	}
	paths, sums, err := estimatetest.WriteModels(filepath.Join(dir, "speed"), specs)
	if err != nil {
		return err
	}
	gen := func(n int) estimatetest.GenOptions {
		return estimatetest.GenOptions{NumCtx: speedCtx, Predict: n, Temperature: 1, Threads: threads}
	}
	srv, err := ollamatest.StartProcess(bin, ollamatest.Options{Env: []string{"OLLAMA_NUM_PARALLEL=1", fmt.Sprintf("OLLAMA_MAX_LOADED_MODELS=%d", len(paths))}}, filepath.Join(dir, "srv-speed"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	for i, p := range paths {
		name := fmt.Sprintf("s%d", i)
		if err := estimatetest.ImportModel(ctx, srv.URL, name, p); err != nil {
			return err
		}
		if _, err := estimatetest.Generate(ctx, srv.URL, name, gen(4)); err != nil { // load + warm-up
			return err
		}
	}
	// Round-robin over the models (all stay loaded) so that load from other
	// processes on a shared machine hits every model alike; medians per model.
	tps := make([][]float64, len(paths))
	kv := make([]int, len(paths))
	for r := 0; r < runs; r++ {
		for i := range paths {
			g, err := estimatetest.Generate(ctx, srv.URL, fmt.Sprintf("s%d", i), gen(tokens))
			if err != nil {
				return err
			}
			if v := g.DecodeTokS(); v > 0 {
				tps[i] = append(tps[i], v)
				kv[i] = g.PromptEvalCount + g.EvalCount/2
			}
		}
	}
	var rows []speedRow
	for i := range paths {
		if len(tps[i]) == 0 {
			return fmt.Errorf("%s: no decode measurement", specs[i].Name)
		}
		rows = append(rows, speedRow{specs[i].Name, sums[i], median(tps[i]), kv[i], spread(tps[i])})
	}
	return printSpeed(rows, calibName, tokens, runs)
}

func speedInput(r speedRow) estimate.Input {
	return estimate.Input{Summary: r.sum, Engine: estimate.EngineOllama, Context: speedCtx,
		Target: cpuTarget(), KVTokens: r.kvTokens}
}

func printSpeed(rows []speedRow, calibName string, tokens, runs int) error {
	var cal estimate.Calibration
	var all []estimate.Measured
	found := false
	for _, r := range rows {
		m := estimate.Measured{Inputs: estimate.SpeedInputsFor(speedInput(r)), DecodeTokS: r.measured}
		all = append(all, m)
		if r.name == calibName {
			cal, found = estimate.Calibrate([]estimate.Measured{m}), true
		}
	}
	if !found {
		return fmt.Errorf("calibration model %q is not among the speed models", calibName)
	}
	fmt.Printf("\n== speed: decode tok/s, Ollama CPU (eval_count/eval_duration, median of %d × %d tokens, num_ctx %d) ==\n", runs, tokens, speedCtx)
	fmt.Printf("calibration on %s: η_cpu %.3f, t0 %.2f ms (defaults η_cpu %.2f, t0 %.2f ms, RAM %.0f GB/s)\n",
		calibName, cal.CPUEta, cal.T0*1e3, estimate.DefaultCPUEta, estimate.DefaultT0*1e3, cpuTarget().CPUBandwidth)
	fmt.Printf("%-12s %9s %10s %6s | %10s %7s | %10s %7s\n", "model", "MB/token", "measured", "spread", "estimate", "ratio", "calibrated", "ratio")
	var rEst, rCal []float64
	inEst, inCal := 0, 0
	for i, r := range rows {
		in := speedInput(r)
		plain := estimate.Analyze(in).Performance.EstimatedThroughput
		in.Calibration = &cal
		calib := estimate.Analyze(in).Performance.CalibratedThroughput
		si := all[i].Inputs
		mark := ""
		if r.name == calibName {
			mark = "  (calibration run)"
		} else {
			rEst = append(rEst, plain/r.measured)
			rCal = append(rCal, calib/r.measured)
			if within(plain/r.measured, 0.3) {
				inEst++
			}
			if within(calib/r.measured, 0.3) {
				inCal++
			}
		}
		fmt.Printf("%-12s %9.2f %10.1f %5.0f%% | %10.1f %6.2f× | %10.1f %6.2f×%s\n", r.name, (si.CPUBytes+si.CPUKVBytes)/1e6,
			r.measured, 100*r.spread, plain, plain/r.measured, calib, calib/r.measured, mark)
	}
	n := len(rEst)
	fmt.Printf("%-12s %9s %10s %6s | %10s %6.2f× | %10s %6.2f×\n", "median", "", "", "", "", median(rEst), "", median(rCal))
	fmt.Printf("median |error|: estimate %.0f%%, calibrated %.0f%%; within ±30%%: estimate %d/%d, calibrated %d/%d\n",
		100*median(absAll(shift(rEst))), 100*median(absAll(shift(rCal))), inEst, n, inCal, n)
	fit := estimate.Calibrate(all)
	fmt.Printf("least-squares fit on all %d models: η_cpu %.3f, t0 %.2f ms, rms relative error %.0f%%\n",
		fit.Samples, fit.CPUEta, fit.T0*1e3, 100*fit.RMSRelErr)
	return nil
}

func spread(xs []float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return (hi - lo) / median(xs)
}

func within(ratio, tol float64) bool { return math.Abs(ratio-1) <= tol }

func shift(rs []float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r - 1
	}
	return out
}
