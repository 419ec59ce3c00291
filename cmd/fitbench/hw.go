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
		usage:   "fitbench hw [--gpu NAME | --vram GB | --gpus N | --cpu-only] [--json] [--known]",
		run:     runHW,
	})
}

func runHW(ctx context.Context, e env) error {
	fs := newFlagSet("hw", e)
	gpu := fs.String("gpu", "", `target GPU by name ("RTX 4080"), or a list ("4090,3090")`)
	vram := fs.Float64("vram", 0, "VRAM per GPU in GiB")
	gpus := fs.Int("gpus", 0, "number of identical GPUs")
	cpuOnly := fs.Bool("cpu-only", false, "assume no GPU")
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
		fmt.Fprintln(tw, "GPU\tVRAM\tBANDWIDTH\tFP16")
		for _, k := range hardware.Table() {
			fmt.Fprintf(tw, "%s\t%.2f GB\t%.0f GB/s\t%.0f TFLOPS\n", k.Name, k.VRAMGiB*(1<<30)/1e9, k.BandwidthGBs, k.FP16TFLOPS)
		}
		return tw.Flush()
	}
	h, err := hardware.Detect(ctx)
	if err != nil {
		return err
	}
	t, notes := hardware.Resolve(h, hardware.Override{GPU: *gpu, VRAMGB: *vram, GPUs: *gpus, CPUOnly: *cpuOnly})
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
		fmt.Fprintf(e.stdout, "  GPU%d %s: %.2f GB, %.0f GB/s, %.0f TFLOPS FP16\n", i, g.Name, float64(g.VRAMBytes)/1e9, g.BandwidthGBs, g.FP16TFLOPS)
	}
	fmt.Fprintf(e.stdout, "  system RAM for offload: %s at %.0f GB/s\n", size(float64(t.RAMBytes)), t.CPUBandwidth)
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
