package install

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoBenchmarker is returned when no engine is configured for benchmarks.
var ErrNoBenchmarker = errors.New("benchmarks are not available: no engine configured")

// StartBenchmark (re-)benchmarks an installed model in the background, with
// progress on the bus like an install's benchmark phase.
func (m *Manager) StartBenchmark(ctx context.Context, modelID string, samples int) (Job, error) {
	if m.cfg.Bench == nil {
		return Job{}, ErrNoBenchmarker
	}
	md, err := m.cfg.DB.GetModel(ctx, modelID)
	if err != nil {
		return Job{}, err
	}
	if !installed(md) {
		return Job{}, fmt.Errorf("%s is not installed (status %s): install it before benchmarking", md.ModelID, md.Status)
	}
	r, started, err := m.claim(md.ModelID)
	if err != nil {
		return Job{}, err
	}
	if !started {
		return r.job, nil
	}
	m.mu.Lock() // Running reads r.job under m.mu
	r.job.Status = StatusBenchmarking
	job := r.job
	m.mu.Unlock()
	m.publish(Event{ModelID: md.ModelID, Status: StatusBenchmarking, Samples: samples, Message: "starting the engine"})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.benchmarkRecovered(context.WithoutCancel(ctx), md.ModelID, samples)
		if err != nil {
			m.cfg.Logger.Error("benchmark failed", "model", md.ModelID, "err", err)
			m.publish(Event{ModelID: md.ModelID, Status: StatusFailed, Error: err.Error(), Hint: hintOf(err)})
		} else {
			m.publish(Event{ModelID: md.ModelID, Status: StatusComplete, Progress: 100, Message: "benchmarked"})
		}
		m.release(md.ModelID, r, err)
	}()
	return job, nil
}

func (m *Manager) benchmarkRecovered(ctx context.Context, modelID string, samples int) (err error) {
	defer recoverInto(&err, m.cfg.Logger, modelID)
	return m.benchmark(ctx, modelID, samples)
}

// benchmark runs the Benchmarker, relaying sample progress to the bus.
func (m *Manager) benchmark(ctx context.Context, modelID string, samples int) error {
	return m.cfg.Bench.Benchmark(ctx, modelID, samples, func(done, total int) {
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		m.publish(Event{ModelID: modelID, Status: StatusBenchmarking, Sample: done, Samples: total, Progress: pct})
	})
}

// RemoveModel deletes a model (and its downloaded files) unless a job is
// running for it.
func (m *Manager) RemoveModel(ctx context.Context, modelID string, keepFiles bool) error {
	md, err := m.cfg.DB.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	if _, busy := m.Running(md.ModelID); busy {
		return &BusyError{ModelID: md.ModelID}
	}
	_, err = Remove(ctx, m.cfg.DB, m.cfg.Dir, md, keepFiles)
	return err
}

// ErrBusy marks an operation refused because a job is running for the model.
var ErrBusy = errors.New("busy")
