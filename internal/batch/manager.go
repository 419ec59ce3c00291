package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// StartFunc starts the engine a job runs on: for an installed model, the
// same engine and settings as its benchmark (install.EngineBench.Start); for
// Settings.Engine "openai", the endpoint it names.
type StartFunc func(ctx context.Context, job *registry.BatchJob, s Settings) (engine.Instance, error)

// RunJob runs one job to its end in this process: it takes the job's lock,
// starts the engine, runs the pending lines and stops the engine. An engine
// that cannot start fails the job with the reason (a resume tries again).
func RunJob(ctx context.Context, db *registry.DB, dataDir string, id int64, start StartFunc, progress func(Snapshot)) (*registry.BatchJob, error) {
	unlock, err := Lock(dataDir, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	job, err := db.GetBatchJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.State == registry.BatchCompleted {
		return job, nil
	}
	s := ParseSettings(job)
	// Mark it running before the engine starts (which can take minutes), so
	// list/show and a restarted server see the job as under way.
	if err := db.SetBatchState(ctx, id, registry.BatchRunning, ""); err != nil {
		return nil, err
	}
	if j, err := db.GetBatchJob(ctx, id); err == nil && progress != nil {
		progress(SnapshotOf(j))
	}
	inst, err := start(ctx, job, s)
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrCancelled) {
			_ = db.SetBatchState(context.WithoutCancel(ctx), id, registry.BatchCancelled, "")
			j, _ := db.GetBatchJob(context.WithoutCancel(ctx), id)
			return j, nil
		}
		if ctx.Err() != nil {
			return job, ErrInterrupted
		}
		msg := fmt.Sprintf("starting the engine: %v", err)
		_ = db.SetBatchState(context.WithoutCancel(ctx), id, registry.BatchFailed, msg)
		j, _ := db.GetBatchJob(context.WithoutCancel(ctx), id)
		if j != nil && progress != nil {
			progress(SnapshotOf(j))
		}
		return j, errors.New(msg)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = inst.Stop(sctx)
	}()
	o := Options{Concurrency: s.Concurrency, MaxTokens: s.MaxTokens, CtxTokens: s.Ctx, Retries: s.Retries, Progress: progress}
	if s.RequestTimeoutS > 0 {
		o.RequestTimeout = time.Duration(s.RequestTimeoutS * float64(time.Second))
	}
	return Run(ctx, db, id, inst, o)
}

// Manager runs the server's batch jobs one at a time (one model engine at a
// time on the machine), fans progress out to subscribers, and after a
// restart resumes the jobs that were running.
type Manager struct {
	db      *registry.DB
	dataDir string
	start   StartFunc
	log     *slog.Logger

	mu      sync.Mutex
	queue   []int64
	queued  map[int64]bool
	cancels map[int64]context.CancelCauseFunc
	subs    map[int64]map[chan Snapshot]struct{}
	last    map[int64]Snapshot
	wake    chan struct{}
	wg      sync.WaitGroup
}

// NewManager returns a manager; call Serve to start its worker.
func NewManager(db *registry.DB, dataDir string, start StartFunc, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{db: db, dataDir: dataDir, start: start, log: log, queued: map[int64]bool{},
		cancels: map[int64]context.CancelCauseFunc{}, subs: map[int64]map[chan Snapshot]struct{}{},
		last: map[int64]Snapshot{}, wake: make(chan struct{}, 1)}
}

// DataDir is where the jobs' files live.
func (m *Manager) DataDir() string { return m.dataDir }

// DB is the registry the jobs are kept in.
func (m *Manager) DB() *registry.DB { return m.db }

// Serve runs queued jobs until ctx ends; a job interrupted by ctx stays
// running in the registry and is resumed by the next Recover.
func (m *Manager) Serve(ctx context.Context) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			id, ok := m.next()
			if !ok {
				select {
				case <-ctx.Done():
					return
				case <-m.wake:
					continue
				}
			}
			m.runOne(ctx, id)
			if ctx.Err() != nil {
				return
			}
		}
	}()
}

// Wait waits for the worker to stop after Serve's context ended.
func (m *Manager) Wait() { m.wg.Wait() }

func (m *Manager) next() (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queue) == 0 {
		return 0, false
	}
	id := m.queue[0]
	m.queue = m.queue[1:]
	delete(m.queued, id)
	return id, true
}

func (m *Manager) runOne(ctx context.Context, id int64) {
	defer func() {
		if p := recover(); p != nil { // a bug in one job must not take the server down
			m.log.Error("batch job panicked", "job", id, "panic", fmt.Sprint(p))
			_ = m.db.SetBatchState(context.WithoutCancel(ctx), id, registry.BatchFailed, fmt.Sprintf("internal error: %v", p))
		}
	}()
	jctx, cancel := context.WithCancelCause(ctx)
	m.mu.Lock()
	m.cancels[id] = cancel
	m.mu.Unlock()
	// Cancelled between leaving the queue and now: do not start it.
	if j, err := m.db.GetBatchJob(ctx, id); err != nil || (j.State != registry.BatchQueued && j.State != registry.BatchRunning) {
		m.mu.Lock()
		delete(m.cancels, id)
		m.mu.Unlock()
		cancel(nil)
		return
	}
	defer func() {
		m.mu.Lock()
		delete(m.cancels, id)
		m.mu.Unlock()
		cancel(nil)
	}()
	j, err := RunJob(jctx, m.db, m.dataDir, id, m.start, func(s Snapshot) { m.publish(s) })
	switch {
	case errors.Is(err, ErrInterrupted):
		m.log.Info("batch job interrupted; it resumes at the next start", "job", id)
	case err != nil:
		m.log.Warn("batch job ended with an error", "job", id, "err", err)
	}
	if j != nil {
		m.publish(SnapshotOf(j))
	}
}

// Submit creates a job and queues it.
func (m *Manager) Submit(ctx context.Context, o CreateOptions) (*registry.BatchJob, error) {
	o.DataDir = m.dataDir
	j, err := Create(ctx, m.db, o)
	if err != nil {
		return nil, err
	}
	m.enqueue(j.ID)
	m.publish(SnapshotOf(j))
	return j, nil
}

func (m *Manager) enqueue(id int64) {
	m.mu.Lock()
	if !m.queued[id] && m.cancels[id] == nil {
		m.queue = append(m.queue, id)
		m.queued[id] = true
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Cancel stops a running job (its in-flight requests are abandoned and stay
// pending) or cancels a queued one.
func (m *Manager) Cancel(ctx context.Context, id int64) (*registry.BatchJob, error) {
	j, err := m.db.GetBatchJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Finished() {
		return j, &StateError{Job: j, Msg: fmt.Sprintf("job %d is already %s", id, j.State)}
	}
	if err := m.db.RequestBatchCancel(ctx, id); err != nil {
		return nil, err
	}
	m.mu.Lock()
	cancel := m.cancels[id]
	if m.queued[id] {
		delete(m.queued, id)
		for i, q := range m.queue {
			if q == id {
				m.queue = append(m.queue[:i], m.queue[i+1:]...)
				break
			}
		}
	}
	m.mu.Unlock()
	if cancel != nil {
		cancel(ErrCancelled)
	} else if j.State == registry.BatchRunning && !Held(m.dataDir, id) {
		// Left running by a process that died: nobody will see the flag.
		_ = m.db.SetBatchState(ctx, id, registry.BatchCancelled, "")
	}
	j, err = m.db.GetBatchJob(ctx, id)
	if err == nil && j.Finished() {
		m.publish(SnapshotOf(j))
	}
	return j, err
}

// Resume queues a cancelled or failed job again (its pending lines only).
func (m *Manager) Resume(ctx context.Context, id int64) (*registry.BatchJob, error) {
	j, err := m.db.GetBatchJob(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case j.State == registry.BatchCompleted:
		return j, &StateError{Job: j, Msg: fmt.Sprintf("job %d is already completed", id)}
	case Held(m.dataDir, id):
		return j, &StateError{Job: j, Msg: fmt.Sprintf("job %d is running", id)}
	}
	if err := m.db.SetBatchState(ctx, id, registry.BatchQueued, ""); err != nil {
		return nil, err
	}
	m.enqueue(id)
	j, err = m.db.GetBatchJob(ctx, id)
	if err == nil {
		m.publish(SnapshotOf(j))
	}
	return j, err
}

// Recover queues the jobs a stop or crash left queued or running (skipping
// any another process is running now), oldest first.
func (m *Manager) Recover(ctx context.Context) ([]int64, error) {
	jobs, err := m.db.ListUnfinishedBatchJobs(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, j := range jobs {
		if Held(m.dataDir, j.ID) {
			continue
		}
		m.enqueue(j.ID)
		ids = append(ids, j.ID)
	}
	return ids, nil
}

// StateError is a request that does not fit the job's state (HTTP 409).
type StateError struct {
	Job *registry.BatchJob
	Msg string
}

func (e *StateError) Error() string   { return e.Msg }
func (e *StateError) HTTPStatus() int { return 409 }

// Snapshot is the job's latest progress: live while it runs, else as stored.
func (m *Manager) Snapshot(ctx context.Context, id int64) (Snapshot, error) {
	m.mu.Lock()
	s, ok := m.last[id]
	m.mu.Unlock()
	if ok && !s.Final() {
		return s, nil
	}
	j, err := m.db.GetBatchJob(ctx, id)
	if err != nil {
		return Snapshot{}, err
	}
	return SnapshotOf(j), nil
}

// Subscribe returns the job's snapshots as they happen (the current one
// first). A slow subscriber misses intermediate snapshots, never the job.
func (m *Manager) Subscribe(ctx context.Context, id int64) (<-chan Snapshot, func(), error) {
	cur, err := m.Snapshot(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan Snapshot, 16)
	ch <- cur
	m.mu.Lock()
	if m.subs[id] == nil {
		m.subs[id] = map[chan Snapshot]struct{}{}
	}
	m.subs[id][ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		delete(m.subs[id], ch)
		if len(m.subs[id]) == 0 {
			delete(m.subs, id)
		}
		m.mu.Unlock()
	}, nil
}

func (m *Manager) publish(s Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[s.ID] = s
	for ch := range m.subs[s.ID] {
		select {
		case ch <- s:
		default:
			// Full: drop the oldest so the newest (and the final one) gets in.
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- s:
			default:
			}
		}
	}
}
