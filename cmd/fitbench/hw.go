package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/fitbench/fitbench/internal/hardware"
)

func init() {
	register(command{
		name:    "hw",
		summary: "show the detected hardware and what analyses will assume",
		usage:   "fitbench hw [--gpu NAME[,NAME…]] [--vram GB[,GB…]] [--gpus N] [--tensor-split A,B…] [--ram GB] [--cpu-only] [--json] [--known]",
		run:     runHW,
	})
}

func runHW(ctx context.Context, e env) error {
	fs := newFlagSet("hw", e)
	target := addTargetFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	known := fs.Bool("known", false, "list the GPUs fitbench knows by name")
	if _, err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *known {
		if *asJSON {
			return writeJSON(e.stdout, hardware.Table())
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GPU\tMEMORY\tBANDWIDTH\tFP16\tBF16\tSOURCE")
		for _, k := range hardware.Table() {
			mem := fmt.Sprintf("%.2f GB", k.VRAMGiB*(1<<30)/1e9)
			if k.Unified {
				mem += " unified"
			}
			fmt.Fprintf(tw, "%s\t%s\t%g GB/s\t%g TFLOPS\t%s\t%s\n", k.Name, mem, k.BandwidthGBs, k.FP16TFLOPS, orDashF(k.BF16TFLOPS), k.Source)
		}
		return tw.Flush()
	}
	hwo, err := target.override()
	if err != nil {
		return err
	}
	h, err := hardware.Detect(ctx)
	if err != nil {
		return err
	}
	t, rnotes, err := hardware.Resolve(h, hwo)
	if err != nil {
		return err
	}
	notes := hardware.CLINotes(rnotes)
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"detected": h, "target": t, "notes": notes})
	}
	fmt.Fprintf(e.stdout, "Detected: %s, %d threads, %s RAM (%s available)\n", orStr(h.CPUModel, "unknown CPU"), h.CPUThreads,
		size(float64(h.RAMTotalBytes)), size(float64(h.RAMAvailBytes)))
	if len(h.GPUs) == 0 {
		fmt.Fprintln(e.stdout, "GPUs:     none detected (nvidia-smi / rocm-smi)")
	}
	for _, g := range h.GPUs {
		fmt.Fprintf(e.stdout, "GPU %d:    %s, %s VRAM (%s free)\n", g.Index, g.Name, size(float64(g.VRAMBytes)), size(float64(g.FreeBytes)))
	}
	fmt.Fprintln(e.stdout, "\nAnalyses assume:")
	if len(t.GPUs) == 0 {
		fmt.Fprintln(e.stdout, "  CPU only — pass --gpu \"RTX 4080\" (or --vram 16) to analyse for a GPU you plan to use")
	}
	for i, g := range t.GPUs {
		mem := fmt.Sprintf("%.2f GB", float64(g.VRAMBytes)/1e9)
		if t.Unified {
			mem += " GPU working set"
		}
		fmt.Fprintf(e.stdout, "  GPU%d %s: %s, %.0f GB/s, %.0f TFLOPS FP16%s\n", i, g.Name, mem, g.BandwidthGBs, g.FP16TFLOPS, shareText(t, i))
	}
	switch {
	case t.RAMUnknown:
		fmt.Fprintln(e.stdout, "  system RAM: unknown (--ram GB gives it)")
	case t.Unified:
		fmt.Fprintf(e.stdout, "  unified memory: %.0f GiB shared by CPU and GPU, at %.0f GB/s for CPU-side layers\n", float64(t.RAMBytes)/(1<<30), t.CPUBandwidth)
	default:
		fmt.Fprintf(e.stdout, "  system RAM for offload: %s at %.0f GB/s\n", size(float64(t.RAMBytes)), t.CPUBandwidth)
	}
	for _, n := range notes {
		fmt.Fprintln(e.stdout, "  note: "+n)
	}
	return nil
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
