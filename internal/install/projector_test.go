package install

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/registry"
)

var testProjector = synth.ProjectorSpec{Layers: 2, Embd: 64, FF: 128, Heads: 4, ImageSize: 32, PatchSize: 8,
	TextEmbd: 512, Seed: 4}

// Start (the API's install) of a variant installed before its repo had a
// projector: the row lacks the projector the variant now comes with, so the
// install goes through the download path again, reuses the verified model
// file (only the projector crosses the network) and records the projector
// apart from the shards.
func TestStartFetchesProjectorForInstalledModel(t *testing.T) {
	w := newWorld(t, localhub.Options{})
	m := w.manager(nil)
	ctx := context.Background()
	id := repo + ":Q8_0"
	if _, err := m.Install(ctx, Request{Repo: repo, Quant: "Q8_0"}); err != nil {
		t.Fatal(err)
	}
	if row, _ := w.db.GetModel(ctx, id); row == nil || row.Projector != nil {
		t.Fatalf("row before the repo had a projector: %+v", row)
	}

	src := filepath.Join(filepath.Dir(w.src), "mmproj-Pipe-F32.gguf")
	if err := synth.WriteProjector(src, testProjector); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	before := w.hub.Counts()[localhub.CountCDNBytes]
	if _, err := m.Start(ctx, Request{Repo: repo, Quant: "Q8_0"}); err != nil {
		t.Fatal(err)
	}
	if ev := waitFinal(m, id); ev.Status != StatusComplete {
		t.Fatalf("final event %+v", ev)
	}
	fetched := w.hub.Counts()[localhub.CountCDNBytes] - before
	if fetched >= w.size() {
		t.Errorf("fetched %d bytes: the verified model file (%d bytes) was downloaded again", fetched, w.size())
	}
	row, err := w.db.GetModel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(w.dir.Models(), "testorg", "Pipe-GGUF", "mmproj-Pipe-F32.gguf")
	want := registry.File{Path: dest, SizeBytes: st.Size(), SHA256: sum(t, src), RepoPath: "mmproj-Pipe-F32.gguf"}
	if row.Projector == nil || *row.Projector != want {
		t.Fatalf("projector %+v, want %+v", row.Projector, want)
	}
	if len(row.Files) != 1 || row.Files[0].Path != w.dest() || !installed(row) {
		t.Errorf("files %+v (installed %v)", row.Files, installed(row))
	}
	if sum(t, dest) != want.SHA256 {
		t.Error("the projector on disk differs from the repo's")
	}

	// An installed row missing its projector file is not installed.
	if err := os.Remove(dest); err != nil {
		t.Fatal(err)
	}
	if installed(row) {
		t.Error("a row whose projector file is gone counts as installed")
	}
}
