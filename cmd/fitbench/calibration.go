package main

import (
	"context"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/registry"
)

// calibrationFrom fits the speed model to this machine's measured benchmarks.
// (Filled in once the estimator exposes the per-model speed inputs.)
func calibrationFrom(db *registry.DB) func(context.Context, estimate.Target) (*estimate.Calibration, error) {
	return nil
}
