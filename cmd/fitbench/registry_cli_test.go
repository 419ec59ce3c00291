package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/localhub"
)

// installed runs `install --no-bench` and returns the model's list row.
func (f *fixture) install(id string, extra ...string) listRow {
	f.t.Helper()
	r := f.ok("", append([]string{"install", id, "--no-bench"}, extra...)...)
	if !strings.Contains(r.stdout, "installed ") {
		f.t.Errorf("install output: %s", r)
	}
	for _, row := range f.list() {
		if row["model_id"] == id {
			return row
		}
	}
	f.t.Fatalf("%s not in the registry after install", id)
	return nil
}

func TestInstallListShowRm(t *testing.T) {
	f, files := smallRepoFixture(t, localhub.Options{})
	if rows := f.list(); len(rows) != 0 {
		t.Fatalf("fresh registry lists %v", rows)
	}
	if r := f.ok("", "list"); !strings.Contains(r.stdout, "No models yet") {
		t.Errorf("empty list: %s", r)
	}
	row := f.install(smallRepo + ":Q4_0") // two shards
	for _, col := range []string{"id", "model_id", "name", "local_path", "quantization_type", "size_gb",
		"estimated_memory_gb", "cpu_offload_gb", "throughput_tokens_per_sec", "status"} {
		if _, ok := row[col]; !ok {
			t.Errorf("list --json row lacks the column %q: %v", col, row)
		}
	}
	if row["status"] != "untested" || row["quantization_type"] != "Q4_0" {
		t.Errorf("row: %v", row)
	}
	if v, _ := row["estimated_memory_gb"].(float64); v <= 0 {
		t.Errorf("estimate not recorded: %v", row)
	}
	modelsDir := filepath.Join(f.home, "models", "testorg", "Small-GGUF")
	for _, src := range files["Q4_0"] {
		dst := filepath.Join(modelsDir, filepath.Base(src))
		if fileSHA256(t, dst) != fileSHA256(t, src) {
			t.Errorf("%s differs from the source", dst)
		}
	}
	if lp, _ := row["local_path"].(string); lp != filepath.Join(modelsDir, filepath.Base(files["Q4_0"][0])) {
		t.Errorf("local_path %q", lp)
	}
	f.install(smallRepo + ":Q8_0")
	if r := f.ok("", "list"); !strings.Contains(r.stdout, smallRepo+":Q4_0") || !strings.Contains(r.stdout, "untested") {
		t.Errorf("list table:\n%s", r.stdout)
	}
	// Installing again downloads nothing and reads no header from the Hub (the
	// local header is read, the recorded sha256 trusted), and keeps one row; the
	// file is not rewritten (a download writes a new file and renames it over).
	q8 := filepath.Join(modelsDir, filepath.Base(files["Q8_0"][0]))
	st0, err := os.Stat(q8)
	if err != nil {
		t.Fatal(err)
	}
	f.hub.ResetCounts()
	f.install(smallRepo + ":Q8_0")
	if c := f.hub.Counts(); c[localhub.CountCDNGet] != 0 || c[localhub.CountResolveGet] != 0 || c[localhub.CountResolveHead] != 0 {
		t.Errorf("reinstall fetched from the Hub: %v", c)
	}
	// --verify re-hashes: a file changed on disk (same size) is caught.
	b, _ := os.ReadFile(q8)
	b[len(b)-1] ^= 0xff
	os.WriteFile(q8, b, 0o644)
	if r := f.run("", "install", smallRepo+":Q8_0", "--no-bench", "--verify"); r.code != 1 || !strings.Contains(r.stderr, "checksum mismatch") {
		t.Errorf("--verify on a changed file: %s", r)
	}
	b[len(b)-1] ^= 0xff
	os.WriteFile(q8, b, 0o644)
	os.Chtimes(q8, st0.ModTime(), st0.ModTime())
	f.ok("", "install", smallRepo+":Q8_0", "--no-bench", "--verify")
	if n := len(f.list()); n != 2 {
		t.Errorf("%d rows after reinstall, want 2", n)
	}
	st1, err := os.Stat(q8)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(st0, st1) || !st1.ModTime().Equal(st0.ModTime()) {
		t.Errorf("reinstall wrote %s again", q8)
	}
	if _, err := os.Stat(q8 + ".partial"); !os.IsNotExist(err) {
		t.Errorf("reinstall left a partial file: %v", err)
	}

	// show by model id and by numeric id.
	var shown struct {
		Model struct {
			ModelID string `json:"model_id"`
			Files   []struct {
				Path   string `json:"path"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		} `json:"model"`
		Benchmarks []any `json:"benchmarks"`
	}
	f.jsonOK(&shown, "show", smallRepo+":Q4_0", "--json")
	if shown.Model.ModelID != smallRepo+":Q4_0" || len(shown.Model.Files) != 2 {
		t.Errorf("show --json: %+v", shown)
	}
	for i, fl := range shown.Model.Files {
		if fl.SHA256 != fileSHA256(t, files["Q4_0"][i]) {
			t.Errorf("show: file %d sha256 %s", i, fl.SHA256)
		}
	}
	id := int(row["id"].(float64))
	if r := f.ok("", "show", jsonNum(id)); !strings.Contains(r.stdout, smallRepo+":Q4_0") || !strings.Contains(r.stdout, "untested") {
		t.Errorf("show ID:\n%s", r.stdout)
	}
	if r := f.run("", "show", "nobody/nothing:Q4_0"); r.code == 0 || r.stderr == "" {
		t.Errorf("show of a missing model: %s", r)
	}

	// rm --keep-files keeps the files, rm deletes them.
	q8 = filepath.Join(modelsDir, "Small-Q8_0.gguf")
	f.ok("", "rm", smallRepo+":Q8_0", "--keep-files")
	if _, err := os.Stat(q8); err != nil {
		t.Errorf("--keep-files deleted %s", q8)
	}
	r := f.ok("", "rm", smallRepo+":Q4_0")
	if !strings.Contains(r.stdout, "2 file(s)") {
		t.Errorf("rm output: %s", r)
	}
	for _, src := range files["Q4_0"] {
		if _, err := os.Stat(filepath.Join(modelsDir, filepath.Base(src))); !os.IsNotExist(err) {
			t.Errorf("rm left %s", filepath.Base(src))
		}
	}
	if n := len(f.list()); n != 0 {
		t.Errorf("%d rows after rm", n)
	}
	if r := f.run("", "rm", smallRepo+":Q4_0"); r.code == 0 {
		t.Errorf("rm of a removed model succeeded: %s", r)
	}
}

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAddLocal(t *testing.T) {
	f, files := smallRepoFixture(t, localhub.Options{})
	mine := filepath.Join(t.TempDir(), "my-model.gguf")
	data, err := os.ReadFile(files["Q8_0"][0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.ok("", "add-local", mine)
	if !strings.Contains(r.stdout, "registered local/my-model.gguf") {
		t.Errorf("add-local: %s", r)
	}
	rows := f.list()
	if len(rows) != 1 || rows[0]["status"] != "untested" || rows[0]["local_path"] != mine || rows[0]["quantization_type"] != "Q8_0" {
		t.Fatalf("rows: %v", rows)
	}
	var shown struct {
		Model struct {
			Source string `json:"source"`
			Files  []struct {
				SHA256 string `json:"sha256"`
			} `json:"files"`
		} `json:"model"`
	}
	f.jsonOK(&shown, "show", "local/my-model.gguf", "--json")
	if shown.Model.Source != "local" || len(shown.Model.Files) != 1 || shown.Model.Files[0].SHA256 != fileSHA256(t, mine) {
		t.Errorf("show: %+v", shown)
	}
	// rm never deletes a file the user registered from elsewhere.
	f.ok("", "rm", "local/my-model.gguf")
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("rm deleted the user's own file: %v", err)
	}

	// A file that is not GGUF: a clear error, nothing registered.
	junk := filepath.Join(t.TempDir(), "notes.gguf")
	os.WriteFile(junk, []byte("this is not a model, just some text that happens to end in .gguf\n"), 0o644)
	r = f.run("", "add-local", junk)
	if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "gguf") {
		t.Errorf("add-local of a text file: %s", r)
	}
	txt := filepath.Join(t.TempDir(), "readme.txt")
	os.WriteFile(txt, []byte("hello"), 0o644)
	if r := f.run("", "add-local", txt); r.code == 0 {
		t.Errorf("add-local of readme.txt: %s", r)
	}
	if r := f.run("", "add-local", filepath.Join(t.TempDir(), "missing.gguf")); r.code == 0 || !strings.Contains(r.stderr, "not a file") {
		t.Errorf("add-local of a missing file: %s", r)
	}
	if rows := f.list(); len(rows) != 0 {
		t.Errorf("a bad file was registered: %v", rows)
	}
	for _, r := range []result{f.run("", "add-local", junk), f.run("", "add-local", txt)} {
		if strings.Contains(r.stderr, "panic") {
			t.Errorf("panic: %s", r)
		}
	}
}
