package main

import (
	"context"
	"sync"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/registry"
)

// calibrationFrom fits the speed model to this machine's measured benchmarks:
// for every tested model, its latest completed single-stream run's
// engine-reported decode speed, with the model's own header as the input. The
// fit is recomputed at most once per process per count of measured models.
func calibrationFrom(db *registry.DB, hw func(context.Context) (hardware.Hardware, error)) func(context.Context, estimate.Target) (*estimate.Calibration, error) {
	var mu sync.Mutex
	cachedFor := -1
	var cached *estimate.Calibration
	return func(ctx context.Context, _ estimate.Target) (*estimate.Calibration, error) {
		if db == nil {
			return nil, nil
		}
		models, err := db.ListModels(ctx)
		if err != nil {
			return nil, err
		}
		var ms []analyze.Measurement
		for _, m := range models {
			if m.Status != registry.StatusTested {
				continue
			}
			runs, err := db.ListRuns(ctx, m.ModelID)
			if err != nil {
				return nil, err
			}
			var best *registry.BenchmarkRun
			for _, r := range runs {
				if r.Status == registry.RunCompleted && r.Concurrency == 1 && r.EngineTokS > 0 && (best == nil || r.ID > best.ID) {
					best = r
				}
			}
			if best == nil {
				continue
			}
			files := make([]string, 0, len(m.Files))
			for _, f := range m.Files {
				files = append(files, f.Path)
			}
			ms = append(ms, analyze.Measurement{Files: files, Context: 2048, Engine: best.Engine, DecodeTokS: best.EngineTokS})
		}
		mu.Lock()
		defer mu.Unlock()
		if len(ms) == cachedFor {
			return cached, nil
		}
		h, err := hw(ctx)
		if err != nil {
			return nil, err
		}
		machine, _, _ := hardware.Resolve(h, hardware.Override{}) // detection never errs; a bad name needs an override
		cached, cachedFor = analyze.Calibrate(ms, machine), len(ms)
		return cached, nil
	}
}
