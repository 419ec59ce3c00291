package main

import (
	"context"
	"sync"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/version"
)

// newHub builds the Hub client from the environment (HF_ENDPOINT, HF_TOKEN…).
func newHub() *hub.Client {
	cfg := hub.ConfigFromEnv()
	cfg.UserAgent = version.UserAgent()
	return hub.New(cfg)
}

// cachedHardware detects the machine once per process (nvidia-smi is slow).
func cachedHardware() func(context.Context) (hardware.Hardware, error) {
	var once sync.Once
	var hw hardware.Hardware
	var err error
	return func(ctx context.Context) (hardware.Hardware, error) {
		once.Do(func() { hw, err = hardware.Detect(ctx) })
		return hw, err
	}
}

// installedFrom lists registry models for the comparison table: the measured
// speed when there is one, else nothing (shown as NEW).
func installedFrom(db *registry.DB) func(context.Context) ([]estimate.Installed, error) {
	return func(ctx context.Context) ([]estimate.Installed, error) {
		if db == nil {
			return nil, nil
		}
		ms, err := db.ListModels(ctx)
		if err != nil {
			return nil, err
		}
		// Like for like: the candidate's figure is a single-stream decode speed,
		// so installed models contribute their measured decode speed (output tok/s
		// would also count prompt time).
		out := make([]estimate.Installed, 0, len(ms))
		for _, m := range ms {
			// The model id, not the display name: two variants of one repo share
			// a name, and the candidate may be one of them.
			out = append(out, estimate.Installed{Name: m.ModelID, Throughput: m.DecodeTokS})
		}
		return out, nil
	}
}

// newAnalyzer wires the analyzer for the CLI and the server.
func newAnalyzer(h *hub.Client, db *registry.DB, hw func(context.Context) (hardware.Hardware, error)) *analyze.Analyzer {
	return analyze.New(analyze.Deps{Hub: h, Hardware: hw, Installed: installedFrom(db), Calibration: calibrationFrom(db, hw)})
}
