package install

import (
	"context"
	"sync"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/registry"
)

// Calibrator fits the speed model to this machine's benchmarks. Each sample is
// a model's latest single-stream run (registry.CalibrationRuns) with the
// estimate's input built from that run's own settings — engine, context per
// sequence, cache type, GPU layers, threads and the measured cache length —
// so the fit compares like with like.
type Calibrator struct {
	DB *registry.DB
	// Machine is the hardware the runs ran on.
	Machine func(ctx context.Context) (estimate.Target, error)

	mu        sync.Mutex
	cachedFor string
	cached    *estimate.Calibration
}

// Calibration returns the fit (nil when no run is usable). It is recomputed
// only when the set of runs changes.
func (c *Calibrator) Calibration(ctx context.Context, _ estimate.Target) (*estimate.Calibration, error) {
	if c == nil || c.DB == nil {
		return nil, nil
	}
	runs, err := c.DB.CalibrationRuns(ctx)
	if err != nil {
		return nil, err
	}
	key := ""
	for _, r := range runs {
		key += r.Run.StartedAt.String() + "/" + r.Model.ModelID + ";"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == c.cachedFor && c.cachedFor != "" {
		return c.cached, nil
	}
	est := RunEstimator{Machine: c.Machine}
	var samples []estimate.Measured
	for _, r := range runs {
		sum, err := summaryOf(r.Model)
		if err != nil {
			continue // a model whose file is gone or unreadable cannot be a sample
		}
		in, _, err := est.input(ctx, sum, registry.RunSettingsOf(r.Run))
		if err != nil {
			return nil, err
		}
		samples = append(samples, estimate.Measured{Inputs: estimate.SpeedInputsFor(in), DecodeTokS: r.Run.EngineTokS})
	}
	c.cachedFor, c.cached = key, nil
	if len(samples) > 0 {
		cal := estimate.Calibrate(samples)
		c.cached = &cal
	}
	return c.cached, nil
}
