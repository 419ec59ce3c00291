package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/registry"
)

// FetchFile is one file to download into Dest (inside the data directory).
type FetchFile struct {
	Dest    string
	Size    int64
	SHA256  string
	Commit  string                                    // the commit the file is pinned to; a partial from another commit is discarded
	Resolve func(ctx context.Context) (string, error) // a fresh (signed) URL
}

// FetchProgress is a download snapshot.
type FetchProgress struct {
	Phase string // "downloading" | "verifying" | "done"
	Done  int64
	Total int64
	Speed float64 // bytes/s
	ETA   time.Duration
}

// Fetcher downloads files as one unit: all verified and in place, or an error.
type Fetcher interface {
	Fetch(ctx context.Context, files []FetchFile, progress func(FetchProgress)) error
}

// plan is what Start resolved before any work: the variant and where it goes.
type plan struct {
	modelID string
	req     Request
	listing *hub.Listing
	variant hub.Variant
	destDir string
}

func (m *Manager) plan(ctx context.Context, req Request) (*plan, error) {
	if req.Repo == "" {
		return nil, errors.New("no model given: pass a Hugging Face URL or org/repo[:QUANT]")
	}
	if err := m.cfg.DB.CheckFile(); err != nil {
		return nil, err // an install recorded in a deleted registry would vanish on restart
	}
	l, err := m.cfg.Hub.Variants(ctx, req.Repo, req.Revision)
	if err != nil {
		return nil, err
	}
	var v *hub.Variant
	if req.Quant != "" || req.File != "" {
		v, err = l.Find(req.Quant, req.File)
	} else {
		v, err = l.Default()
	}
	if err != nil {
		return nil, err
	}
	if len(v.Files) == 0 {
		return nil, errNoFiles
	}
	if v.Incomplete {
		return nil, fmt.Errorf("%s %s is missing shards in the repo; pick another variant", req.Repo, v.Quant)
	}
	destDir, err := repoDir(m.cfg.Dir.Models(), l.Repo)
	if err != nil {
		return nil, err
	}
	for _, f := range v.Files {
		if _, err := safeFile(destDir, f.Path); err != nil {
			return nil, err
		}
	}
	if mm := v.MMProj; mm != nil {
		if _, err := safeFile(destDir, mm.Path); err != nil {
			return nil, err
		}
		if mm.Size <= 0 || mm.Size > hub.MaxFileSize {
			return nil, fmt.Errorf("%s lists the vision projector %s with an impossible size (%d bytes); refusing the listing", l.Repo, mm.Path, mm.Size)
		}
	}
	return &plan{modelID: ModelID(l.Repo, *v), req: req, listing: l, variant: *v, destDir: destDir}, nil
}

// execute runs the pipeline for a claimed model and always ends with a final
// event (complete or failed) and the registry in a consistent state.
func (m *Manager) execute(ctx context.Context, p *plan, r *run) {
	err := m.stepsRecovered(ctx, p, r)
	if err != nil {
		m.fail(p, err)
	}
	m.release(p.modelID, r, err)
}

// stepsRecovered runs the pipeline and turns a panic into the job's error, so
// one hostile or broken model fails its own job instead of taking down the
// server process with every other download and benchmark in it.
func (m *Manager) stepsRecovered(ctx context.Context, p *plan, r *run) (err error) {
	defer recoverInto(&err, m.cfg.Logger, p.modelID)
	return m.steps(ctx, p, r)
}

func (m *Manager) publish(ev Event) { m.cfg.Bus.Publish(ev) }

func (m *Manager) steps(ctx context.Context, p *plan, r *run) error {
	id := p.modelID
	db := m.cfg.DB
	if prev, _ := db.GetModel(ctx, id); prev != nil && installed(prev) && hasProjector(prev, p.variant) {
		return m.reinstall(ctx, p, r, prev)
	}
	m.publish(Event{ModelID: id, Status: StatusAnalyzing, Message: "reading the model header"})
	est := Estimate{}
	if m.cfg.Estimator != nil {
		e, err := m.cfg.Estimator.EstimateVariant(ctx, p.listing, p.variant)
		if errors.Is(err, gguf.ErrIncomplete) || errors.Is(err, gguf.ErrTooLarge) {
			// No engine could load it: refuse before downloading gigabytes.
			return err
		}
		if err != nil {
			m.cfg.Logger.Warn("estimate failed; registering without estimates", "model", id, "err", err)
		} else {
			est = e
		}
	}
	m.publish(Event{ModelID: id, Status: StatusRegistering, Message: "adding to the registry"})
	files := make([]registry.File, 0, len(p.variant.Files))
	fetch := make([]FetchFile, 0, len(p.variant.Files)+1)
	fetchOf := func(f hub.File) registry.File {
		dest, _ := safeFile(p.destDir, f.Path)
		repo, commit, fpath := p.listing.Repo, p.listing.Commit, f.Path
		fetch = append(fetch, FetchFile{Dest: dest, Size: f.Size, SHA256: f.SHA256, Commit: commit,
			Resolve: func(ctx context.Context) (string, error) {
				res, err := m.cfg.Hub.Resolve(ctx, repo, commit, fpath)
				if err != nil {
					return "", err
				}
				return res.URL, nil
			}})
		return registry.File{Path: dest, SizeBytes: f.Size, SHA256: f.SHA256, RepoPath: f.Path}
	}
	for _, f := range p.variant.Files {
		files = append(files, fetchOf(f))
	}
	// The variant's vision projector is fetched in the same unit (downloaded and
	// verified like a shard: all in place or an error) but recorded apart from
	// the shards: the engine gets it as a second file (--mmproj, Ollama's
	// projector layer), not as part of the model.
	var projector *registry.File
	if mm := p.variant.MMProj; mm != nil {
		pf := fetchOf(*mm)
		projector = &pf
	}
	name := est.Name
	if name == "" {
		name = path.Base(p.listing.Repo) + " " + p.variant.Quant
	}
	prev, _ := db.GetModel(ctx, id)
	row := &registry.Model{
		ModelID: id, Name: name, LocalPath: files[0].Path, QuantizationType: p.variant.Quant,
		SizeBytes: p.variant.SizeBytes, SizeGB: float64(p.variant.SizeBytes) / 1e9,
		Status: registry.StatusDownloading, Repo: p.listing.Repo, Revision: p.req.Revision,
		CommitSHA: p.listing.Commit, Files: files, ParamCount: est.ParamCount,
		Architecture: est.Architecture, ContextLength: est.ContextLength,
		EstimatedMemoryGB: est.EstimatedMemoryGB, CPUOffloadGB: est.CPUOffloadGB,
		EstimatedThroughput: est.EstimatedThroughput, QualityStars: est.QualityStars,
		GPULayers: est.GPULayers, TotalLayers: est.TotalLayers, Source: "hub", Projector: projector,
	}
	if prev != nil { // keep measurements of an earlier install of the same variant
		row.ThroughputTokensPerSec, row.OutputTokS, row.TotalTokS, row.Engine =
			prev.ThroughputTokensPerSec, prev.OutputTokS, prev.TotalTokS, prev.Engine
	}
	if _, err := db.UpsertModel(ctx, row); err != nil {
		return err
	}
	opts, _ := json.Marshal(p.req)
	job := &registry.Job{ModelID: id, Repo: p.listing.Repo, Revision: p.listing.Commit, Quant: p.variant.Quant,
		Files: files, Status: registry.JobRunning, Phase: StatusDownloading, Options: opts}
	jobID, err := db.CreateJob(ctx, job)
	if err != nil {
		return err
	}
	m.setJobID(r, jobID)
	setPhase := func(phase string) {
		job.Phase = phase
		if err := db.UpdateJob(ctx, job); err != nil {
			m.cfg.Logger.Warn("job update failed", "model", id, "err", err)
		}
	}
	msg := "downloading " + describe(p.variant)
	if projector != nil {
		msg += " and its vision projector " + path.Base(projector.RepoPath)
	}
	m.publish(Event{ModelID: id, Status: StatusDownloading, Total: p.variant.SizeBytes,
		Message: msg})
	err = m.cfg.Fetcher.Fetch(ctx, fetch, func(fp FetchProgress) {
		ev := Event{ModelID: id, Status: StatusDownloading, Bytes: fp.Done, Total: fp.Total,
			Speed: fp.Speed, ETA: fp.ETA.Seconds()}
		if fp.Phase == "verifying" {
			ev.Status = StatusVerifying
		}
		if fp.Total > 0 {
			ev.Progress = 100 * float64(fp.Done) / float64(fp.Total)
		}
		m.publish(ev)
	})
	if err != nil {
		job.Status, job.Error = registry.JobFailed, err.Error()
		setPhase(StatusDownloading)
		return err
	}
	if err := db.SetStatus(ctx, id, registry.StatusDownloaded, ""); err != nil {
		// Another process installing the same model finished first (we waited
		// on its download lock and found the verified file): nothing to undo.
		if cur, gerr := db.GetModel(ctx, id); gerr != nil || !installed(cur) {
			return err
		}
	}
	return m.finish(ctx, p, r, job)
}

// reinstall handles an install of a variant already on disk: its header is
// read from the local file (not the Hub) to check it is still a model, its
// recorded sha256 is trusted unless the request asks to verify (re-hashing a
// 40 GB file takes minutes), and only the benchmark (if asked) remains.
func (m *Manager) reinstall(ctx context.Context, p *plan, r *run, prev *registry.Model) error {
	id := p.modelID
	m.publish(Event{ModelID: id, Status: StatusAnalyzing, Message: "already installed: reading the local header"})
	if _, err := summaryOf(prev); err != nil {
		return fmt.Errorf("%s is installed but its file cannot be read as a model: %w (fitbench rm it and install again)", id, err)
	}
	msg := "already installed (sha256 recorded at download; --verify re-hashes)"
	if p.req.Verify {
		m.publish(Event{ModelID: id, Status: StatusVerifying, Total: prev.SizeBytes, Message: "re-hashing the installed files"})
		if err := VerifyFiles(ctx, withProjector(prev)); err != nil {
			return err
		}
		msg = "already installed; sha256 verified again"
	}
	m.publish(Event{ModelID: id, Status: StatusVerifying, Progress: 100, Bytes: prev.SizeBytes,
		Total: prev.SizeBytes, Message: msg})
	return m.finish(ctx, p, r, nil)
}

// finish benchmarks (when asked) and completes the job.
func (m *Manager) finish(ctx context.Context, p *plan, r *run, job *registry.Job) error {
	id, db := p.modelID, m.cfg.DB
	if job == nil {
		job = &registry.Job{ModelID: id, Repo: p.listing.Repo, Revision: p.listing.Commit, Quant: p.variant.Quant,
			Status: registry.JobRunning, Phase: StatusBenchmarking}
		jobID, err := db.CreateJob(ctx, job)
		if err != nil {
			return err
		}
		m.setJobID(r, jobID)
	}
	setPhase := func(phase string) {
		job.Phase = phase
		if err := db.UpdateJob(ctx, job); err != nil {
			m.cfg.Logger.Warn("job update failed", "model", id, "err", err)
		}
	}
	if p.req.Benchmark && m.cfg.Bench != nil {
		setPhase(StatusBenchmarking)
		m.publish(Event{ModelID: id, Status: StatusBenchmarking, Samples: p.req.Samples, Message: "starting the engine"})
		if err := m.benchmark(ctx, id, p.req.Samples); err != nil {
			// The model is installed; only the measurement failed. The
			// benchmarker restored its status; the job says what went wrong.
			job.Status, job.Error = registry.JobFailed, "benchmark: "+err.Error()
			setPhase(StatusBenchmarking)
			return fmt.Errorf("installed, but the benchmark failed: %w", err)
		}
	} else if cur, err := db.GetModel(ctx, id); err != nil {
		return err
	} else if cur.Status == registry.StatusDownloaded {
		if err := db.SetStatus(ctx, id, registry.StatusUntested, ""); err != nil {
			return err
		}
	}
	job.Status = registry.JobDone
	setPhase(StatusComplete)
	m.publish(Event{ModelID: id, Status: StatusComplete, Progress: 100, Bytes: p.variant.SizeBytes,
		Total: p.variant.SizeBytes, Message: "installed"})
	return nil
}

// fail records a failure: the model row (when the download did not finish)
// becomes failed with the reason, and subscribers get the final event.
func (m *Manager) fail(p *plan, err error) {
	ctx := context.Background()
	if cur, gerr := m.cfg.DB.GetModel(ctx, p.modelID); gerr == nil && cur.Status == registry.StatusDownloading {
		if serr := m.cfg.DB.SetStatus(ctx, p.modelID, registry.StatusFailed, err.Error()); serr != nil {
			m.cfg.Logger.Error("could not mark model failed", "model", p.modelID, "err", serr)
		}
	}
	m.cfg.Logger.Error("install failed", "model", p.modelID, "err", err)
	m.publish(Event{ModelID: p.modelID, Status: StatusFailed, Error: err.Error(), Hint: hintOf(err)})
}

func hintOf(err error) string {
	var he *hub.Error
	if errors.As(err, &he) {
		return he.Hint
	}
	var eh interface{ ErrorHint() string }
	if errors.As(err, &eh) {
		return eh.ErrorHint()
	}
	return ""
}

// installed reports whether a registry row's files are all on disk, complete,
// and its status says they were verified.
func installed(md *registry.Model) bool {
	switch md.Status {
	case registry.StatusDownloaded, registry.StatusUntested, registry.StatusTested:
	default:
		return false
	}
	if len(md.Files) == 0 {
		return false
	}
	for _, f := range withProjector(md) {
		st, err := os.Stat(f.Path)
		if err != nil || st.Size() != f.SizeBytes {
			return false
		}
	}
	return true
}

// withProjector is a row's shards followed by its vision projector (if any):
// every file an install put on disk and verified.
func withProjector(md *registry.Model) []registry.File {
	if md.Projector == nil {
		return md.Files
	}
	return append(append([]registry.File{}, md.Files...), *md.Projector)
}

// hasProjector reports whether an installed row already holds the projector
// the variant comes with: a row installed before projectors were fetched (or
// whose repo gained an mmproj since) goes through the download path again,
// which reuses its verified shards and fetches only the projector.
func hasProjector(md *registry.Model, v hub.Variant) bool {
	if v.MMProj == nil {
		return true
	}
	return md.Projector != nil && md.Projector.RepoPath == v.MMProj.Path && md.Projector.SHA256 == v.MMProj.SHA256
}

// setJobID records the registry job of a run; claim and Running read r.job
// from other goroutines under m.mu.
func (m *Manager) setJobID(r *run, id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.job.JobID = id
}
