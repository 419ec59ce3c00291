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
	row("Memory", fmt.Sprintf("%.2f GB total = weights %.2f + KV cache %.2f + overhead %.2f  (estimate; %d ctx × %d seq, %s cache)",
		r.Memory.TotalGB, r.Memory.ModelGB, r.Memory.KVCacheGB, r.Memory.OverheadGB, r.Context, max(r.Parallel, 1), r.CacheType))
	for _, d := range r.Memory.Devices {
		if d.TotalBytes == 0 || r.VLLM != nil { // the per-device split is llama.cpp's
			continue
		}
		row("  "+d.Name, fmt.Sprintf("%.2f GB (weights %.2f, KV %.2f, compute %.2f, other %.2f)", gbf(d.TotalBytes), gbf(d.WeightsBytes),
			gbf(d.KVBytes), gbf(d.ComputeBytes), gbf(d.OutputBytes+d.OverheadBytes)))
	}
	row("Available", fmt.Sprintf("%.2f GB", r.Memory.AvailableGB))
	if r.VLLM != nil {
		v := r.VLLM
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
	for _, n := range append(r.Notes, r.Warnings...) {
		fmt.Fprintln(w, "note: "+n)
	}
	if len(r.Variants) > 1 {
		fmt.Fprintln(w, "\nVariants:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  QUANT\tSIZE\tFIT\tGPU LAYERS\tTOK/S\tQUALITY\t")
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d/%d\t~%s\t%s\t%s\n", orQ(v.Quant), size(float64(v.SizeBytes)), fitWord(v.Verdict),
				v.GPULayers, v.TotalLayers, tokS(v.EstimatedThroughput), stars(v.QualityStars), mark)
		}
		_ = tw.Flush()
	}
	if r.Comparison.TotalModels > 0 {
		fmt.Fprintln(w, "\nCompared with your models:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  MODEL\tSPEED\tCOMPARISON")
		for _, c := range r.Comparison.Comparisons {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.ModelName, orDash(c.Throughput, "%.1f"), c.Label)
		}
		_ = tw.Flush()
	}
}

func fitWord(v string) string {
	switch v {
	case estimate.VerdictFits:
		return "fits"
	case estimate.VerdictFitsOffload:
		return "offload"
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
