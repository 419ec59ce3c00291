package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/fitbench/fitbench/internal/install"
)

func init() {
	register(command{
		name:    "show",
		summary: "show one model, its files and its benchmark runs",
		usage:   "fitbench show ID|MODEL_ID [--verify] [--json] [--home DIR]",
		run:     runShow,
	})
}

func runShow(ctx context.Context, e env) error {
	fs := newFlagSet("show", e)
	asJSON := fs.Bool("json", false, "print JSON")
	verify := fs.Bool("verify", false, "re-hash the files and compare with the recorded sha256")
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
	// The files are checked against the registry (sizes always; sha256 with
	// --verify), so a file changed on disk is not reported "installed".
	problems, err := install.CheckFiles(ctx, m, *verify)
	if err != nil {
		return err
	}
	var mismatch error // errSilent after the message: show exits 1 when files changed
	msg := ""
	if len(problems) > 0 {
		fix := fmt.Sprintf("run `fitbench install %s` to download them again", m.ModelID)
		if m.Source == "local" {
			fix = "register the file again with `fitbench add-local`"
		}
		msg = fmt.Sprintf("%s: %d file(s) no longer match the registry; %s", m.ModelID, len(problems), fix)
		mismatch = errSilent
	}
	if *asJSON {
		if err := writeJSON(e.stdout, map[string]any{"model": m, "benchmarks": runs, "file_problems": problems}); err != nil {
			return err
		}
		if msg != "" {
			fmt.Fprintf(e.stderr, "fitbench show: %s\n", msg)
		}
		return mismatch
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
	for _, p := range problems {
		row("  CHANGED", p.Path+": "+p.Problem)
	}
	if *verify && len(problems) == 0 {
		row("  verified", "every file matches its recorded sha256")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if msg != "" {
		fmt.Fprintf(e.stderr, "fitbench show: %s\n", msg)
	}
	if len(runs) > 0 {
		fmt.Fprintln(e.stdout, "\nBenchmark runs:")
		tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tENGINE\tSTATUS\tSAMPLES\tCONC.\tOUT TOK/S\tTTFT P50\tE2E P50\tSTARTED")
		for _, r := range runs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.1f\t%.0f ms\t%.0f ms\t%s\n", r.ID, r.Engine, r.Status,
				r.Samples, r.Concurrency, r.OutputTokS, r.TTFTP50Ms, r.E2EP50Ms, r.StartedAt.Format("2006-01-02 15:04"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return mismatch
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}
