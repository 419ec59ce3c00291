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
	if len(args) != 1 {
		return fmt.Errorf("%w: give one model id (see fitbench list)", errUsage)
	}
	dir, db, err := openRegistry(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := db.GetModel(ctx, args[0])
	if err != nil {
		return err
	}
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
