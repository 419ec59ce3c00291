package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
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
	dir, db, m, err := openModel(ctx, *home, args, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := install.ReconcileStale(ctx, db, dir, []*registry.Model{m}, nil); err != nil {
		return err
	}
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
	row("Est. memory", orDash(m.EstimatedMemoryGB, "%.2f GB")+"  (estimate of the install's analysis)")
	row("CPU offload", fmt.Sprintf("%.2f GB, %d/%d layers on GPU (estimate)", m.CPUOffloadGB, m.GPULayers, m.TotalLayers))
	if len(runs) > 0 && runs[0].Comparison != nil {
		r := runs[0]
		row("Decode", fmt.Sprintf("measured %s tok/s (run %d on %s), estimate for that run's settings %s",
			orDash(r.EngineTokS, "%.1f"), r.ID, r.Engine, decodeCell(r)))
	} else {
		row("Decode", fmt.Sprintf("estimate ~%s tok/s (install analysis), measured %s tok/s (%s)",
			orDash(m.EstimatedThroughput, "%.0f"), orDash(m.DecodeTokS, "%.1f"), orStr(m.Engine, "not benchmarked")))
	}
	row("Benchmark", fmt.Sprintf("%s tok/s output, %s tok/s total (prompt + output)",
		orDash(m.OutputTokS, "%.1f"), orDash(m.TotalTokS, "%.1f")))
	row("Quality", stars(m.QualityStars))
	row("Path", m.LocalPath)
	for _, f := range m.Files {
		row("  file", fmt.Sprintf("%s  %d bytes  sha256 %s", f.Path, f.SizeBytes, f.SHA256))
	}
	if p := m.Projector; p != nil {
		row("Projector", fmt.Sprintf("%s  %d bytes  sha256 %s  (vision, given to the engine)", p.Path, p.SizeBytes, p.SHA256))
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
		// Each run beside the estimate made for its own settings (not the
		// install's analysis, which assumed another context and engine).
		fmt.Fprintln(e.stdout, "\nBenchmark runs (decode tok/s and memory: measured / estimate for the run's settings / error):")
		tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tENGINE\tSTATUS\tSAMPLES\tERRORS\tCTX×SEQ\tDECODE TOK/S\tMEMORY\tOUTPUT TOK/S (harness)\tSTARTED")
		for _, r := range runs {
			s := registry.RunSettingsOf(r)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d×%d\t%s\t%s\t%.1f\t%s\n", r.ID, r.Engine, r.Status, r.Samples, r.Errors,
				s.Context, max(s.Parallel, 1), decodeCell(r), memoryCell(r), r.OutputTokS, r.StartedAt.Format("2006-01-02 15:04"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "\nLatest run:")
		if err := printRun(e.stdout, runs[0]); err != nil {
			return err
		}
	}
	return mismatch
}

func decodeCell(r *registry.BenchmarkRun) string {
	s := orDash(r.EngineTokS, "%.1f")
	if c := r.Comparison; c != nil && c.EstimatedDecodeTokS > 0 {
		s += fmt.Sprintf(" / ~%.1f", c.EstimatedDecodeTokS)
		if c.DecodeError != nil {
			s += fmt.Sprintf(" / %+.0f%%", 100**c.DecodeError)
		}
	}
	return s
}

func memoryCell(r *registry.BenchmarkRun) string {
	s := "-"
	if m := r.MemGPUBytes + r.MemCPUBytes; m > 0 {
		s = size(float64(m))
	}
	if c := r.Comparison; c != nil && c.EstimatedBytes > 0 {
		s += " / ~" + size(float64(c.EstimatedBytes))
		if c.MemoryError != nil {
			s += fmt.Sprintf(" / %+.0f%%", 100**c.MemoryError)
		}
	}
	return s
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}
