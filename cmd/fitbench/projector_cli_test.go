package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// smallProjector is a tiny mmproj-like GGUF (architecture clip) whose output
// width matches the small model's hidden size.
var smallProjector = synth.ProjectorSpec{Layers: 2, Embd: 64, FF: 128, Heads: 4, ImageSize: 32, PatchSize: 8,
	TextEmbd: 256, Seed: 3}

// A repo with two variants and one vision projector at its root (as most GGUF
// repos of vision models are laid out): installing a variant downloads and
// verifies the projector too, into the repo's folder, and the registry keeps it
// apart from the model's shards; show lists it; rm of one variant keeps the
// projector the other still uses, rm of the last one removes it.
func TestInstallFetchesVisionProjector(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	const repo = "testorg/Vision-GGUF"
	q8 := f.model(repo, "Vision-Q8_0", withType(small, gguf.TypeQ8_0))[0]
	q4 := f.model(repo, "Vision-Q4_0", withType(small, gguf.TypeQ4_0))[0]
	src := filepath.Join(f.root, filepath.FromSlash(repo), "mmproj-Vision-F32.gguf")
	if err := synth.WriteProjector(src, smallProjector); err != nil {
		t.Fatal(err)
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	modelsDir := filepath.Join(f.home, "models", "testorg", "Vision-GGUF")
	dest := filepath.Join(modelsDir, "mmproj-Vision-F32.gguf")

	r := f.ok("", "install", repo+":Q8_0", "--no-bench")
	if !strings.Contains(r.stdout, "installed "+repo+":Q8_0") || !strings.Contains(r.stdout, "vision projector at "+dest) {
		t.Fatalf("install output:\n%s", r)
	}
	if fileSHA256(t, dest) != fileSHA256(t, src) {
		t.Fatal("the installed projector differs from the repo's")
	}
	if fileSHA256(t, filepath.Join(modelsDir, filepath.Base(q8))) != fileSHA256(t, q8) {
		t.Fatal("the installed model differs from the repo's")
	}

	type fileJSON struct {
		Path      string `json:"path"`
		SizeBytes int64  `json:"size_bytes"`
		SHA256    string `json:"sha256"`
		RepoPath  string `json:"repo_path"`
	}
	var shown struct {
		Model struct {
			Files     []fileJSON `json:"files"`
			Projector *fileJSON  `json:"projector"`
		} `json:"model"`
	}
	f.jsonOK(&shown, "show", repo+":Q8_0", "--json")
	if len(shown.Model.Files) != 1 || filepath.Base(shown.Model.Files[0].Path) != "Vision-Q8_0.gguf" {
		t.Errorf("files (the shards) are %+v: the projector must not be one", shown.Model.Files)
	}
	p := shown.Model.Projector
	if p == nil || p.Path != dest || p.SizeBytes != srcInfo.Size() || p.SHA256 != fileSHA256(t, src) ||
		p.RepoPath != "mmproj-Vision-F32.gguf" {
		t.Fatalf("projector %+v, want %s (%d bytes, sha256 of the source)", p, dest, srcInfo.Size())
	}
	if r := f.ok("", "show", repo+":Q8_0"); !strings.Contains(r.stdout, "Projector") || !strings.Contains(r.stdout, dest) {
		t.Errorf("show does not list the projector:\n%s", r.stdout)
	}

	// --verify re-hashes the projector with the shards: a changed byte (same
	// size) in the installed projector is caught.
	f.ok("", "install", repo+":Q8_0", "--no-bench", "--verify")
	good, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, good...)
	bad[len(bad)-10] ^= 0xff
	if err := os.WriteFile(dest, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := f.run("", "install", repo+":Q8_0", "--no-bench", "--verify"); r.code == 0 || !strings.Contains(r.stderr, "mmproj-Vision-F32.gguf") {
		t.Errorf("install --verify with a corrupted projector succeeded: %s", r)
	}
	if r := f.run("", "show", repo+":Q8_0", "--verify"); r.code == 0 || !strings.Contains(r.stdout, "CHANGED") ||
		!strings.Contains(r.stdout, dest) {
		t.Errorf("show --verify with a corrupted projector: %s", r)
	}
	if err := os.WriteFile(dest, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// A second variant of the repo shares the projector file.
	f.ok("", "install", repo+":Q4_0", "--no-bench")
	f.jsonOK(&shown, "show", repo+":Q4_0", "--json")
	if shown.Model.Projector == nil || shown.Model.Projector.Path != dest {
		t.Fatalf("Q4_0 projector %+v, want the shared %s", shown.Model.Projector, dest)
	}
	if r := f.ok("", "rm", repo+":Q4_0"); !strings.Contains(r.stdout, "1 file(s)") {
		t.Errorf("rm of Q4_0 (projector still used by Q8_0): %s", r)
	}
	if _, err := os.Stat(filepath.Join(modelsDir, filepath.Base(q4))); !os.IsNotExist(err) {
		t.Errorf("rm left %s", filepath.Base(q4))
	}
	if _, err := os.Stat(dest); err != nil {
		t.Fatalf("rm of Q4_0 removed the projector Q8_0 still uses: %v", err)
	}
	if r := f.ok("", "rm", repo+":Q8_0"); !strings.Contains(r.stdout, "2 file(s)") {
		t.Errorf("rm of Q8_0 (model and projector): %s", r)
	}
	for _, p := range []string{dest, filepath.Join(modelsDir, filepath.Base(q8))} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("rm left %s", filepath.Base(p))
		}
	}
	if _, err := os.Stat(modelsDir); !os.IsNotExist(err) {
		t.Errorf("the emptied repo folder %s is still there", modelsDir)
	}
}

// A projector whose download does not match the repo's sha256 fails the
// install like a corrupt shard: the row is failed, no projector lands in
// models/, and the next install fetches a good copy.
func TestInstallRefusesCorruptProjector(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	const repo = "testorg/Vision-GGUF"
	id := repo + ":Q8_0"
	f.model(repo, "Vision-Q8_0", withType(small, gguf.TypeQ8_0))
	src := filepath.Join(f.root, filepath.FromSlash(repo), "mmproj-Vision-F32.gguf")
	if err := synth.WriteProjector(src, smallProjector); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(f.home, "models", "testorg", "Vision-GGUF", "mmproj-Vision-F32.gguf")
	f.hub.Inject(localhub.Fault{Kind: "flip", Path: "/mmproj-Vision-F32.gguf", After: 1000})
	r := f.run("", "install", id, "--no-bench")
	if r.code == 0 || !strings.Contains(r.stderr, "checksum failed") {
		t.Fatalf("install with a corrupted projector: %s", r)
	}
	if row := rowOf(f.list(), id); row == nil || row["status"] != "failed" {
		t.Errorf("row after the projector's checksum failure: %v", row)
	}
	for _, p := range []string{dest, dest + ".partial"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a checksum failure", p)
		}
	}
	f.ok("", "install", id, "--no-bench")
	if fileSHA256(t, dest) != fileSHA256(t, src) {
		t.Fatal("retry did not fetch a good projector")
	}
}
