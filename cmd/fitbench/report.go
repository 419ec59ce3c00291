package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/estimate"
)

// printReport is the compact human report of an analysis.
func printReport(w io.Writer, r *analyze.Result) {
	verdict := map[string]string{
		estimate.VerdictFits:        "✅ Fits on " + r.Hardware.Label + " (no CPU offload)",
		estimate.VerdictFitsOffload: fmt.Sprintf("⚠️  Fits on %s with CPU offload: %d of %d layers on the GPU, %.2f GB in system RAM", r.Hardware.Label, r.GPULayers, r.TotalLayers, r.Memory.CPUOffloadGB),
		estimate.VerdictNoFit:       "❌ Too large for " + r.Hardware.Label + " even with CPU offload",
	}[r.Verdict]
	if len(r.Hardware.Target.GPUs) == 0 && r.Verdict == estimate.VerdictFits {
		verdict = "✅ Fits in system RAM (CPU only)"
	}
	if v, ok := targetVerdict(r); ok {
		verdict = v
	}
	if r.VLLM != nil && r.Verdict == estimate.VerdictFitsOffload {
		verdict = fmt.Sprintf("⚠️  Fits on %s under vLLM with --cpu-offload-gb %.1f", r.Hardware.Label, r.VLLM.CPUOffloadGB)
	}
	fmt.Fprintf(w, "%s  %s\n%s\n", r.ModelName, r.InstallID, verdict)
	if r.Source == estimate.SourceHeuristic {
		fmt.Fprintln(w, "(heuristic estimate: no GGUF header could be read — rules of thumb, not a model of the engine)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	if r.Model.ParamCount > 0 {
		row("Model", fmt.Sprintf("%s, %s params, %d layers, trained context %d", r.Model.Architecture, params(r.Model.ParamCount), r.Model.Layers, r.Model.ContextLength))
	}
	row("File size", size(float64(r.SizeBytes)))
	if r.EnginePath != "" {
		row("Runs on", estimate.PathLabel(r.EnginePath)+" (memory estimated for it)")
	}
	row("Memory", fmt.Sprintf("%.2f GB total = weights %.2f + KV cache %.2f + overhead %.2f  (estimate; %d ctx × %d seq, %s cache)",
		r.Memory.TotalGB, r.Memory.ModelGB, r.Memory.KVCacheGB, r.Memory.OverheadGB, r.Context, max(r.Parallel, 1), r.CacheType))
	for _, d := range r.Memory.Devices {
		if d.TotalBytes == 0 || r.VLLM != nil { // the per-device split is llama.cpp's
			continue
		}
		row("  "+deviceLabel(r, d), fmt.Sprintf("%.2f GB (weights %.2f, KV %.2f, compute %.2f, other %.2f)", gbf(d.TotalBytes), gbf(d.WeightsBytes),
			gbf(d.KVBytes), gbf(d.ComputeBytes), gbf(d.OutputBytes+d.OverheadBytes)))
	}
	row("Available", fmt.Sprintf("%.2f GB", r.Memory.AvailableGB))
	if r.VLLM != nil {
		v := r.VLLM
		row("Engine", "vLLM (estimate only: fitbench's vLLM adapter has not been run against a real vLLM here)")
		row("vLLM", fmt.Sprintf("budget %.2f GB (gpu_memory_utilization × VRAM) for weights %.2f + activation %.2f + CUDA context %.2f; KV cache %.2f GB (%.1f sequences of %d tokens)",
			gbf(v.BudgetBytes), gbf(v.WeightsBytes), gbf(v.ActivationBytes), gbf(v.ContextBytes), gbf(v.KVAvailableBytes), v.MaxConcurrency, r.Context))
		if v.CPUOffloadGB > 0 {
			row("CPU offload", fmt.Sprintf("--cpu-offload-gb %.1f: %s", v.CPUOffloadGB, v.Explanation))
		} else {
			row("CPU offload", "none")
		}
	} else if r.Memory.CPUOffloadGB > 0 {
		row("CPU offload", fmt.Sprintf("%.2f GB (%d of %d layers on the CPU)", r.Memory.CPUOffloadGB, r.TotalLayers-r.GPULayers, r.TotalLayers))
	} else {
		row("CPU offload", "none")
	}
	speed := fmt.Sprintf("~%s tok/s decode (estimate)", tokS(r.Performance.EstimatedThroughput))
	if r.Performance.Calibrated {
		speed += fmt.Sprintf(", ~%.0f tok/s calibrated to this machine's benchmarks", r.Performance.CalibratedThroughput)
	}
	row("Speed", speed)
	row("Quality", stars(r.Performance.QualityStars))
	_ = tw.Flush()
	for _, a := range r.Advice {
		fmt.Fprintln(w, "→ "+a)
	}
	printCommand(w, r.Report)
	// Every note and warning of the JSON: the estimate's, the heuristic's and
	// the hardware's (what was detected or assumed), in the CLI's phrasing.
	for _, n := range reportNotes(r) {
		fmt.Fprintln(w, "note: "+n)
	}
	if len(r.Variants) > 1 {
		fmt.Fprintln(w, "\nVariants:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		// vLLM's plan is in vLLM's terms: --cpu-offload-gb, not llama.cpp layers.
		placement := "GPU LAYERS"
		if r.VLLM != nil {
			placement = "--CPU-OFFLOAD-GB"
		}
		fmt.Fprintf(tw, "  QUANT\tSIZE\tFIT\t%s\tDECODE TOK/S (est.)\tQUALITY\t\n", placement)
		for _, v := range r.Variants {
			mark := ""
			switch v.Recommended {
			case "full":
				mark = "★ recommended"
			case "offload":
				mark = "★ best with offload"
			}
			if v.Selected {
				mark = strings.TrimSpace(mark + " (this one)")
			}
			where := fmt.Sprintf("%d/%d", v.GPULayers, v.TotalLayers)
			if r.VLLM != nil {
				where = fmt.Sprintf("%.1f", v.CPUOffloadGB)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t~%s\t%s\t%s\n", orQ(v.Quant), size(float64(v.SizeBytes)), fitWord(v.Verdict),
				where, tokS(v.EstimatedThroughput), stars(v.QualityStars), mark)
		}
		_ = tw.Flush()
	}
	if p := r.Recommendation.BestFull; p != nil {
		fmt.Fprintf(w, "Recommended: %s — %s\n", p.Quantization, p.Reason)
	}
	if p := r.Recommendation.BestOffload; p != nil {
		fmt.Fprintf(w, "Best with CPU offload: %s — %s\n", p.Quantization, p.Reason)
	}
	if r.Comparison.TotalModels > 0 {
		// Like for like: single-stream decode tok/s, estimated for the candidate,
		// measured (by the engine) for installed models.
		fmt.Fprintln(w, "\nCompared with your models (decode tok/s, one stream):")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  MODEL\tDECODE TOK/S\t\tCOMPARISON")
		fmt.Fprintf(tw, "  %s (candidate)\t~%s\testimate\t\n", r.InstallID, tokS(r.Performance.EstimatedThroughput))
		for _, c := range r.Comparison.Comparisons {
			name, kind := c.ModelName, "measured"
			if c.ModelName == r.InstallID {
				name += " (installed: this variant)"
			}
			if c.Throughput <= 0 {
				kind = "not benchmarked"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, orDash(c.Throughput, "%.1f"), kind, candidateVs(c))
		}
		_ = tw.Flush()
	}
}

// candidateVs says the comparison from the candidate's side, or that there is
// nothing to compare with.
func candidateVs(c estimate.ComparisonRow) string {
	if c.Throughput <= 0 || c.Ratio == 0 {
		return "-"
	}
	return "candidate " + c.Label
}

func fitWord(v string) string {
	switch v {
	case estimate.VerdictFits:
		return "fits"
	case estimate.VerdictFitsOffload:
		return "offload"
	case estimate.VerdictRAMUnknown:
		return "RAM?"
	default:
		return "too large"
	}
}

func gbf(b uint64) float64 { return float64(b) / estimate.GB }

// size prints bytes as GB (10^9), or MB for small test models.
func size(b float64) string {
	if b < 1e8 {
		return fmt.Sprintf("%.1f MB", b/1e6)
	}
	return fmt.Sprintf("%.2f GB", b/1e9)
}

func params(n uint64) string {
	if n < 1e9 {
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2fB", float64(n)/1e9)
}

func tokS(v float64) string {
	if v > 0 && v < 1 {
		return "<1"
	}
	return fmt.Sprintf("%.0f", v)
}

// printCommand shows how to run the plan (estimate.Command) and, for
// llama-server, what its automatic fit would choose with no -ngl/-c.
func printCommand(w io.Writer, r estimate.Report) {
	c := r.Command
	if c == nil {
		return
	}
	fmt.Fprintln(w, "\nRun it:")
	if r.Engine == estimate.EngineVLLM && c.VLLMLine != "" {
		fmt.Fprintln(w, "  "+c.VLLMLine)
		return
	}
	fmt.Fprintln(w, "  "+c.LlamaServerLine)
	fmt.Fprintln(w, "  "+c.OllamaLine)
	if f := r.LlamaServerFit; f != nil && f.Aborted == "" {
		fmt.Fprintf(w, "  (llama-server with no -ngl/-c fits by itself: context %d, -ngl %d%s — %s)\n",
			f.NCtx, f.NGPULayers, splitText(f.TensorSplit), f.Note)
	}
	if m := r.MoE; m != nil {
		fmt.Fprintf(w, "  MoE alternative: %s — ~%.1f tok/s vs ~%.1f with whole layers (%s)\n", m.Explanation,
			m.EstimatedThroughput, m.LayerPlanThroughput, map[bool]string{true: "recommended", false: "not better"}[m.Recommended])
	}
}

func splitText(ts []int) string {
	if len(ts) == 0 {
		return ""
	}
	parts := make([]string, len(ts))
	for i, n := range ts {
		parts[i] = fmt.Sprint(n)
	}
	return ", -ts " + strings.Join(parts, ",")
}
