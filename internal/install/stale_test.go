package install

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/registry"
)

func staleRow(t *testing.T, db *registry.DB, id, status string) {
	t.Helper()
	if _, err := db.UpsertModel(context.Background(), &registry.Model{ModelID: id, Name: id, LocalPath: "/x/" + id,
		QuantizationType: "Q8_0", Status: status, Source: "hub"}); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileStale: "downloading" or "benchmarking" without a live holder
// of the job lock is recorded as what it is; a row whose lock a live job
// holds (here: this process, through its own file descriptor, as another
// process would) is left alone.
func TestReconcileStale(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	ctx := context.Background()
	staleRow(t, w.db, "o/r:DEAD", registry.StatusDownloading)
	staleRow(t, w.db, "o/r:LIVE", registry.StatusDownloading)
	staleRow(t, w.db, "o/r:BENCH", registry.StatusBenchmarking)
	lock, err := TryLockModel(w.dir, "o/r:LIVE")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	models, err := w.db.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ReconcileStale(ctx, w.db, w.dir, models, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"o/r:DEAD": registry.StatusFailed, "o/r:LIVE": registry.StatusDownloading, "o/r:BENCH": registry.StatusDownloaded}
	for id, status := range want {
		m, err := w.db.GetModel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != status {
			t.Errorf("%s: recorded %s, want %s (%s)", id, m.Status, status, m.StatusReason)
		}
	}
	if m, _ := w.db.GetModel(ctx, "o/r:DEAD"); !strings.Contains(m.StatusReason, "fitbench install o/r:DEAD") {
		t.Errorf("the reason does not say how to resume: %q", m.StatusReason)
	}
}

// TestWatchStale: a server notices a row a dead CLI process left behind
// while the server runs, not only at its start.
func TestWatchStale(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	m := w.manager(nil)
	ctx, cancel := context.WithCancel(context.Background())
	m.WatchStale(ctx, 20*time.Millisecond)
	staleRow(t, w.db, "o/r:DEAD", registry.StatusDownloading)
	deadline := time.Now().Add(10 * time.Second)
	for {
		md, err := w.db.GetModel(context.Background(), "o/r:DEAD")
		if err != nil {
			t.Fatal(err)
		}
		if md.Status == registry.StatusFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s after 10 s", md.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	m.Wait()
}
