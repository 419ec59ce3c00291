// Package install is the pipeline that takes a model from a Hub reference to a
// verified file on disk and a row in the registry, then (optionally) a
// benchmark: analyze → register (downloading) → download → verify → downloaded →
// benchmark → tested. Progress goes to a Bus that the CLI and WebSocket relay.
package install

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/registry"
)

// Estimator fills a registry row's estimate columns (memory, offload, speed,
// stars) for a variant. It is optional: without it those columns stay 0.
type Estimator interface {
	EstimateVariant(ctx context.Context, l *hub.Listing, v hub.Variant) (Estimate, error)
}

// Estimate is what the pipeline records from the analysis.
type Estimate struct {
	Name                string
	ParamCount          int64
	Architecture        string
	ContextLength       int64
	EstimatedMemoryGB   float64
	CPUOffloadGB        float64
	EstimatedThroughput float64
	QualityStars        int
	GPULayers           int
	TotalLayers         int
}

// Benchmarker measures an installed model on a real engine and records the run
// (status benchmarking → tested, or restored on failure). progress reports
// completed samples.
type Benchmarker interface {
	Benchmark(ctx context.Context, modelID string, samples int, progress func(done, total int)) error
}

// Config holds the pipeline's dependencies.
type Config struct {
	DB        *registry.DB
	Dir       datadir.Dir
	Hub       *hub.Client
	Fetcher   Fetcher
	Bus       *Bus
	Estimator Estimator   // optional
	Bench     Benchmarker // optional; nil = installs end untested
	Logger    *slog.Logger
}

// Request asks for one variant of a repo.
type Request struct {
	Repo      string
	Revision  string
	Quant     string // a quant tag, or
	File      string // a file name of the variant
	Benchmark bool
	Samples   int
	// Verify re-hashes an already installed variant; by default its recorded
	// sha256 (checked when it was downloaded) is trusted.
	Verify bool
}

// Job is the public view of a running or finished install.
type Job struct {
	ModelID string `json:"model_id"`
	Status  string `json:"status"`
	JobID   int64  `json:"job_id"`
	Started bool   `json:"started"` // false when an identical install was already running
}

// Manager runs installs, at most one per model at a time.
type Manager struct {
	cfg     Config
	mu      sync.Mutex
	running map[string]*run
	wg      sync.WaitGroup
}

type run struct {
	job  Job
	done chan struct{}
	err  error
	lock *ModelLock // the cross-process job lock, held until release
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.Bus == nil {
		cfg.Bus = NewBus()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, running: map[string]*run{}}
}

// Bus returns the progress bus.
func (m *Manager) Bus() *Bus { return m.cfg.Bus }

// Start resolves the variant (so the model id is known and bad input fails
// at once), then runs the rest of the pipeline in the background. A second
// Start for a model already installing returns the running job.
func (m *Manager) Start(ctx context.Context, req Request) (Job, error) {
	plan, err := m.plan(ctx, req)
	if err != nil {
		return Job{}, err
	}
	r, started, err := m.claim(plan.modelID)
	if err != nil {
		return Job{}, err
	}
	if !started {
		return r.job, nil
	}
	// Published before returning, so a WebSocket opened right after sees it.
	m.publish(Event{ModelID: plan.modelID, Status: StatusAnalyzing, Message: "starting"})
	job := r.job // read before the goroutine writes r.job
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.execute(context.WithoutCancel(ctx), plan, r)
	}()
	return job, nil
}

// Install runs the whole pipeline and waits for it (the CLI path). When the
// same model is already installing in this process it waits for that one.
func (m *Manager) Install(ctx context.Context, req Request) (Job, error) {
	return m.InstallWith(ctx, req, nil)
}

// InstallWith is Install with a callback told the model id once the variant is
// resolved and before any work, so a caller can subscribe to its progress.
func (m *Manager) InstallWith(ctx context.Context, req Request, resolved func(modelID string)) (Job, error) {
	plan, err := m.plan(ctx, req)
	if err != nil {
		return Job{}, err
	}
	if resolved != nil {
		resolved(plan.modelID)
	}
	r, started, err := m.claim(plan.modelID)
	var busy *BusyError
	if errors.As(err, &busy) {
		// Another process is installing or benchmarking it: wait for it
		// (the install below then finds the verified file), not a second copy.
		l, werr := lockModelWait(ctx, m.cfg.Dir, plan.modelID, func(b *BusyError) {
			m.publish(Event{ModelID: plan.modelID, Status: StatusAnalyzing, Message: "waiting: " + b.Error()})
		})
		if werr != nil {
			return Job{}, werr
		}
		r, started, err = m.claimLocked(plan.modelID, l)
	}
	if err != nil {
		return Job{}, err
	}
	if started {
		m.execute(ctx, plan, r)
	} else {
		select {
		case <-r.done:
		case <-ctx.Done():
			return r.job, ctx.Err()
		}
	}
	return r.job, r.err
}

// Wait blocks until every background job has finished.
func (m *Manager) Wait() { m.wg.Wait() }

// Running reports the running job of a model, if any.
func (m *Manager) Running(modelID string) (Job, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.running[modelID]
	if !ok {
		return Job{}, false
	}
	return r.job, true
}

// claim makes this process the one working on modelID: a job already running
// here is returned (started false); one running in another process is a
// *BusyError.
func (m *Manager) claim(modelID string) (*run, bool, error) {
	return m.claimLocked(modelID, nil)
}

// claimLocked is claim with the job lock already taken (nil: take it).
func (m *Manager) claimLocked(modelID string, l *ModelLock) (*run, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.running[modelID]; ok {
		l.Release()
		j := r.job
		j.Started = false
		return &run{job: j, done: r.done}, false, nil
	}
	if l == nil {
		var err error
		if l, err = TryLockModel(m.cfg.Dir, modelID); err != nil {
			return nil, false, err
		}
	}
	r := &run{job: Job{ModelID: modelID, Status: StatusAnalyzing, Started: true}, done: make(chan struct{}), lock: l}
	m.running[modelID] = r
	return r, true, nil
}

func (m *Manager) release(modelID string, r *run, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.err = err
	delete(m.running, modelID)
	r.lock.Release()
	close(r.done)
}

// ModelID names one installed variant: org/repo:QUANT (or the file name when the
// variant has no recognisable quant label).
func ModelID(repo string, v hub.Variant) string {
	tag := v.Quant
	if tag == "" && len(v.Files) > 0 {
		tag = v.Files[0].Path
	}
	return repo + ":" + tag
}

var errNoFiles = errors.New("the variant has no files")

func describe(v hub.Variant) string {
	if len(v.Files) == 1 {
		return v.Files[0].Path
	}
	return fmt.Sprintf("%d shards", len(v.Files))
}
