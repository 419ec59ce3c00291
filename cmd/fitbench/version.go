package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/fitbench/fitbench/internal/version"
)

func init() {
	register(command{
		name:    "version",
		summary: "print the fitbench version",
		usage:   "fitbench version",
		run: func(_ context.Context, e env) error {
			fmt.Fprintf(e.stdout, "fitbench %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	})
}
