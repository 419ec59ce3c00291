package install

import (
	"context"
	"fmt"
	"time"

	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/registry"
)

// A row that says "downloading" or "benchmarking" while no process holds its
// job lock is stale: the process working on it died (killed, crashed), or it
// failed at a moment it could not record the failure — a full disk refuses
// SQLite's write just as it refused the download's (issue 14.6). The lock is
// taken before the row gets either status and dropped only after the final
// status is written (manager.go claim/release), so "not locked" never cuts a
// live job short.

// staleStatus is what a stale row really is: a download that did not finish
// failed (its partial file stays for resuming), a benchmark that did not
// finish leaves the model downloaded.
func staleStatus(md *registry.Model) (status, reason string, stale bool) {
	switch md.Status {
	case registry.StatusDownloading:
		return registry.StatusFailed, fmt.Sprintf("interrupted during download; run `fitbench install %s` to resume", md.ModelID), true
	case registry.StatusBenchmarking:
		return registry.StatusDownloaded, "benchmark interrupted", true
	}
	return "", "", false
}

// ReconcileStale gives every stale row of models its real status: recorded in
// the registry when it can be written, and in any case in models themselves,
// so a list shown from a full disk or a read-only data directory never claims
// a download is running. busy reports jobs of this process (nil: none).
func ReconcileStale(ctx context.Context, db *registry.DB, dir datadir.Dir, models []*registry.Model, busy func(modelID string) bool) error {
	for _, md := range models {
		status, reason, stale := staleStatus(md)
		if !stale || (busy != nil && busy(md.ModelID)) || lockedElsewhere(dir, md.ModelID) {
			continue
		}
		if !db.ReadOnly() {
			if err := db.SetStatus(ctx, md.ModelID, status, reason); err != nil {
				if ctx.Err() != nil {
					return err
				}
				reason += fmt.Sprintf(" (not recorded in the registry: %v)", err)
			}
		}
		md.Status, md.StatusReason = status, reason
	}
	return nil
}

// WatchStale reconciles stale rows every interval until ctx ends, so a CLI
// install beside a running server that died (killed, or unable to record its
// failure on a full disk) stops showing "downloading" on the page. Rows of
// this process's own jobs and of live processes are left alone.
func (m *Manager) WatchStale(ctx context.Context, every time.Duration) {
	busy := func(id string) bool { _, ok := m.Running(id); return ok }
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			models, err := m.cfg.DB.ListModels(ctx)
			if err == nil {
				err = ReconcileStale(ctx, m.cfg.DB, m.cfg.Dir, models, busy)
			}
			if err != nil && ctx.Err() == nil {
				m.cfg.Logger.Warn("checking for interrupted installs failed", "err", err)
			}
		}
	}()
}
