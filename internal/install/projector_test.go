package install

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
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

// EngineBench.Start (every benchmark and batch job) hands an installed
// model's projector to the engine: the real Ollama's llama.cpp runner loads it
// (its mtmd/clip loader logs the projector's hyperparameters).
func TestEngineBenchGivesTheEngineTheProjector(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a bound, not an assertion
	defer cancel()
	dir := t.TempDir()
	paths, err := synth.Write(dir, "tiny-F16", synth.Tiny)
	if err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(dir, "mmproj-tiny-F32.gguf")
	ps := testProjector
	ps.TextEmbd = synth.Tiny.Embd // mtmd refuses a projector whose output width is not the model's
	if err := synth.WriteProjector(proj, ps); err != nil {
		t.Fatal(err)
	}
	md := &registry.Model{ModelID: "testorg/Tiny-Vision-GGUF:F16", LocalPath: paths[0],
		Files: []registry.File{{Path: paths[0]}}, Projector: &registry.File{Path: proj}}
	b := &EngineBench{Engine: func(context.Context) (engine.Engine, error) {
		return &engine.Ollama{Host: srv.URL, Log: srv.Log}, nil
	}, Settings: engine.Settings{GPULayers: -1, Ctx: 512, Threads: 2, Seed: 1}}
	inst, rs, err := b.start(ctx, md)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	// Ollama runs a vision model with at least 2048 tokens of context
	// (server/sched.go); the run records that, not the 512 asked for.
	if rs.Context != engine.OllamaVisionMinCtx || inst.Flags()["num_ctx"] != "2048" {
		t.Errorf("run context %d, num_ctx %s: want 2048, what Ollama runs a vision model with", rs.Context, inst.Flags()["num_ctx"])
	}
	log := srv.Log()
	for _, want := range []string{"KvSize:2048", "ProjectorPath:/", "clip_model_loader: has vision encoder", "load_hparams: projector:          mlp"} {
		if !strings.Contains(log, want) {
			t.Errorf("the Ollama log lacks %q: the engine was not given the projector", want)
		}
	}
}

// A run's estimate says the projector is left out of it (and of the load-log
// buffers it is compared with); without a projector it says nothing of it.
func TestRunEstimateNotesProjector(t *testing.T) {
	paths, err := synth.Write(t.TempDir(), "tiny-F16", synth.Tiny)
	if err != nil {
		t.Fatal(err)
	}
	md := &registry.Model{ModelID: "testorg/Tiny-GGUF:F16", LocalPath: paths[0], Files: []registry.File{{Path: paths[0]}}}
	rs := registry.RunSettings{Engine: "ollama", Context: 2048, Parallel: 1, GPULayers: -1}
	mentions := func(notes []string) bool {
		return strings.Contains(strings.Join(notes, "\n"), "vision projector")
	}
	if est := (RunEstimator{}).Estimate(context.Background(), md, rs); est.Error != "" || mentions(est.Notes) {
		t.Fatalf("without a projector: %+v", est)
	}
	md.Projector = &registry.File{Path: "/x/mmproj.gguf", SizeBytes: 2_500_000}
	if est := (RunEstimator{}).Estimate(context.Background(), md, rs); !mentions(est.Notes) {
		t.Errorf("notes %v do not say the projector is left out", est.Notes)
	}
}
