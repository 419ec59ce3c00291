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
		name:    "list",
		summary: "list the models in the registry",
		usage:   "fitbench list [--json] [--home DIR]",
		run:     runList,
	})
}

func runList(ctx context.Context, e env) error {
	fs := newFlagSet("list", e)
	asJSON := fs.Bool("json", false, "print the registry rows as a JSON array")
	home := homeFlag(fs)
	if _, err := parseFlags(fs, e.args); err != nil {
		return err
	}
	dir, db, err := openRegistryRead(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	models, err := db.ListModels(ctx)
	if err != nil {
		return err
	}
	// a row left "downloading" by a process that died is shown (and, when the
	// registry can be written, recorded) as what it is
	if err := install.ReconcileStale(ctx, db, dir, models, nil); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, models)
	}
	if len(models) == 0 {
		fmt.Fprintln(e.stdout, "No models yet. Add one with: fitbench install <Hugging Face URL or org/repo:QUANT>")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	// Decode speeds side by side (estimate vs measurement, like for like), then
	// the benchmark's output tok/s, which also counts prompt processing.
	// The estimate shown is the one made for the latest run's own settings
	// (marked "run"), else the install's analysis ("analysis").
	fmt.Fprintln(tw, "ID\tMODEL\tSTATUS\tSIZE\tEST. DECODE TOK/S\tMEASURED DECODE TOK/S\tOUTPUT TOK/S (harness)\tQUALITY")
	for _, m := range models {
		est := orDash(m.EstimatedThroughput, "~%.0f") + " (analysis)"
		if m.EstimatedThroughput <= 0 {
			est = "-"
		}
		if runs, err := db.ListRuns(ctx, m.ModelID); err == nil {
			for _, r := range runs {
				if r.Status == registry.RunCompleted && r.Comparison != nil && r.Comparison.EstimatedDecodeTokS > 0 {
					est = fmt.Sprintf("~%.1f (run %d)", r.Comparison.EstimatedDecodeTokS, r.ID)
					break
				}
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.ModelID, m.Status,
			size(float64(m.SizeBytes)), est, orDash(m.DecodeTokS, "%.1f"),
			orDash(m.ThroughputTokensPerSec, "%.1f"), stars(m.QualityStars))
	}
	return tw.Flush()
}
