package main

import (
	"context"
	"fmt"

	"github.com/fitbench/fitbench/internal/install"
)

func init() {
	register(command{
		name:    "rm",
		summary: "remove a model from the registry and delete its downloaded files",
		usage:   "fitbench rm ID|MODEL_ID [--keep-files] [--home DIR]",
		run:     runRm,
	})
}

func runRm(ctx context.Context, e env) error {
	fs := newFlagSet("rm", e)
	keep := fs.Bool("keep-files", false, "keep the model files on disk")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	dir, db, m, err := openModel(ctx, *home, args, false)
	if err != nil {
		return err
	}
	defer db.Close()
	removed, err := install.Remove(ctx, db, dir, m, *keep)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s", m.ModelID)
	if removed > 0 {
		fmt.Fprintf(e.stdout, " and %d file(s)", removed)
	}
	fmt.Fprintln(e.stdout)
	return nil
}
