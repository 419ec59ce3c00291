package main

import (
	"context"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

// machineTarget is the detected machine as the estimator sees it (what
// benchmarks ran on, not an analysis's --gpu target).
func machineTarget(hw func(context.Context) (hardware.Hardware, error)) func(context.Context) (estimate.Target, error) {
	return func(ctx context.Context) (estimate.Target, error) {
		h, err := hw(ctx)
		if err != nil {
			return estimate.Target{}, err
		}
		t, _, _ := hardware.Resolve(h, hardware.Override{}) // detection never errs; a bad name needs an override
		return t, nil
	}
}

// calibrationFrom fits the speed model to this machine's measured benchmarks
// (install.Calibrator picks the runs and builds each sample from its own settings).
func calibrationFrom(db *registry.DB, hw func(context.Context) (hardware.Hardware, error)) func(context.Context, estimate.Target) (*estimate.Calibration, error) {
	if db == nil {
		return func(context.Context, estimate.Target) (*estimate.Calibration, error) { return nil, nil }
	}
	c := &install.Calibrator{DB: db, Machine: machineTarget(hw)}
	return c.Calibration
}
