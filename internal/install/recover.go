package install

import (
	"context"
	"encoding/json"

	"github.com/fitbench/fitbench/internal/registry"
)

// Recover deals with work a crash left behind, so nothing stays "downloading"
// forever. With resume, unfinished install jobs start again (the downloader
// picks up its partial files); without, they and their models are marked
// failed with the reason. Models stuck in benchmarking go back to downloaded.
// It returns the model ids it resumed.
func (m *Manager) Recover(ctx context.Context, resume bool) ([]string, error) {
	db := m.cfg.DB
	jobs, err := db.ListUnfinishedJobs(ctx)
	if err != nil {
		return nil, err
	}
	var resumed []string
	for _, j := range jobs {
		if _, busy := m.Running(j.ModelID); busy || lockedElsewhere(m.cfg.Dir, j.ModelID) {
			continue // live, here or in another process (a CLI install): not interrupted
		}
		j.Status, j.Error = registry.JobFailed, "interrupted: fitbench stopped during "+j.Phase
		if err := db.UpdateJob(ctx, j); err != nil {
			return resumed, err
		}
		if resume {
			var req Request
			if len(j.Options) > 0 {
				_ = json.Unmarshal(j.Options, &req)
			}
			if req.Repo == "" {
				req = Request{Repo: j.Repo, Quant: j.Quant}
			}
			req.Revision = j.Revision // the commit the interrupted job was pinned to
			if _, err := m.Start(ctx, req); err == nil {
				resumed = append(resumed, j.ModelID)
				continue
			} else {
				m.cfg.Logger.Warn("could not resume install", "model", j.ModelID, "err", err)
			}
		}
	}
	models, err := db.ListModels(ctx)
	if err != nil {
		return resumed, err
	}
	busy := func(id string) bool { _, ok := m.Running(id); return ok }
	if err := ReconcileStale(ctx, db, m.cfg.Dir, models, busy); err != nil {
		return resumed, err
	}
	return resumed, nil
}
