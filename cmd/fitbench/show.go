package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func init() {
	register(command{
		name:    "show",
		summary: "show one model, its files and its benchmark runs",
		usage:   "fitbench show ID|MODEL_ID [--json] [--home DIR]",
		run:     runShow,
	})
}

func runShow(ctx context.Context, e env) error {
	fs := newFlagSet("show", e)
	asJSON := fs.Bool("json", false, "print JSON")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	_, db, m, err := openModel(ctx, *home, args)
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.ListRuns(ctx, m.ModelID)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"model": m, "benchmarks": runs})
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Model", fmt.Sprintf("%s (id %d)", m.ModelID, m.ID))
	row("Status", m.Status+reasonSuffix(m.StatusReason))
	row("Architecture", m.Architecture)
	row("Parameters", orDash(float64(m.ParamCount)/1e9, "%.2fB"))
	row("Quantization", m.QuantizationType)
	row("Size", orDash(m.SizeGB, "%.2f GB"))
	row("Est. memory", orDash(m.EstimatedMemoryGB, "%.2f GB")+"  (estimate)")
	row("CPU offload", fmt.Sprintf("%.2f GB, %d/%d layers on GPU (estimate)", m.CPUOffloadGB, m.GPULayers, m.TotalLayers))
	row("Decode", fmt.Sprintf("estimate ~%s tok/s, measured %s tok/s (%s)",
		orDash(m.EstimatedThroughput, "%.0f"), orDash(m.DecodeTokS, "%.1f"), orStr(m.Engine, "not benchmarked")))
	row("Benchmark", fmt.Sprintf("%s tok/s output, %s tok/s total (prompt + output)",
		orDash(m.OutputTokS, "%.1f"), orDash(m.TotalTokS, "%.1f")))
	row("Quality", stars(m.QualityStars))
	row("Path", m.LocalPath)
	for _, f := range m.Files {
		row("  file", fmt.Sprintf("%s  %d bytes  sha256 %s", f.Path, f.SizeBytes, f.SHA256))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(runs) > 0 {
		fmt.Fprintln(e.stdout, "\nBenchmark runs:")
		tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tENGINE\tSTATUS\tSAMPLES\tCONC.\tOUT TOK/S\tTTFT P50\tE2E P50\tSTARTED")
		for _, r := range runs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.1f\t%.0f ms\t%.0f ms\t%s\n", r.ID, r.Engine, r.Status,
				r.Samples, r.Concurrency, r.OutputTokS, r.TTFTP50Ms, r.E2EP50Ms, r.StartedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	return nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}
