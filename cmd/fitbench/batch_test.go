package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// batchFixture: a data directory with a tiny model registered (add-local) and
// a real CPU Ollama that the fitbench subprocesses reach via OLLAMA_HOST.
func batchFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	srv := ollamatest.Start(t, ollamatest.Options{Env: []string{"OLLAMA_NUM_PARALLEL=2"}})
	f := newFixture(t, localhub.Options{})
	// One engine thread: on a shared CI machine more threads only contend.
	f.env = append(f.env, "OLLAMA_HOST="+srv.Host, "FITBENCH_BENCH_THREADS=1")
	spec := synth.Tiny
	spec.Seed = 5
	paths, err := synth.Write(t.TempDir(), "batch-cli", spec)
	if err != nil {
		t.Fatal(err)
	}
	const id = "local/batch-cli:F16"
	f.ok("", "add-local", paths[0], "--id", id)
	return f, id
}

func writeBatchInput(t *testing.T, path string, n, maxTokens int) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		line, _ := json.Marshal(map[string]any{"custom_id": fmt.Sprintf("q%03d", i), "method": "POST",
			"url": "/v1/chat/completions", "body": map[string]any{"model": "m", "max_tokens": maxTokens,
				"messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("Tell me about %d", i)}}}})
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// customIDs counts each custom_id in a Batch API output file; every line
// must be whole JSON.
func customIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		var l struct {
			CustomID string `json:"custom_id"`
			Response struct {
				StatusCode int `json:"status_code"`
			} `json:"response"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Response.StatusCode != 200 {
			t.Fatalf("%s line %d: %v %q", path, n, err, sc.Text())
		}
		out[l.CustomID]++
	}
	return out
}

// TestBatchSurvivesSIGKILL kills a real `fitbench batch run` mid-job, then
// resumes it: every line is in the output exactly once.
func TestBatchSurvivesSIGKILL(t *testing.T) {
	f, id := batchFixture(t)
	input := filepath.Join(t.TempDir(), "in.jsonl")
	writeBatchInput(t, input, 200, 4)
	cmd := exec.Command(binPath, "batch", "run", id, input, "--engine", "ollama", "--parallel", "2")
	cmd.Env = f.environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	db, err := registry.Open(filepath.Join(f.home, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Minute) // a bound on a hung engine, not an assertion
	var killedAt int
	for {
		if j, err := db.GetBatchJob(ctx, 1); err == nil && j.DoneLines >= 20 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-exited
			j, _ = db.GetBatchJob(ctx, 1)
			killedAt = j.DoneLines
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("batch run exited before it was killed: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress\n%s", stderr.String())
		}
	}
	if killedAt >= 200 {
		t.Fatalf("the job finished before the kill; make it longer")
	}
	// Killed: the registry still says running, list and show say interrupted.
	var rows []map[string]any
	f.jsonOK(&rows, "batch", "list", "--json")
	if len(rows) != 1 || rows[0]["state"] != "running" || rows[0]["interrupted"] != true {
		t.Fatalf("list after SIGKILL: %v", rows)
	}
	if r := f.ok("", "batch", "show", "1"); !strings.Contains(r.stdout, "interrupted") || !strings.Contains(r.stdout, "fitbench batch resume 1") {
		t.Errorf("show after SIGKILL:\n%s", r.stdout)
	}
	var job map[string]any
	f.jsonOK(&job, "batch", "resume", "1", "--json")
	if job["state"] != "completed" || job["done_lines"] != float64(200) || job["failed_lines"] != float64(0) {
		t.Fatalf("resumed job: %v", job)
	}
	ids := customIDs(t, job["output_path"].(string))
	if len(ids) != 200 {
		t.Fatalf("%d distinct custom_ids in the output, want 200", len(ids))
	}
	for i := 0; i < 200; i++ {
		if n := ids[fmt.Sprintf("q%03d", i)]; n != 1 {
			t.Errorf("q%03d appears %d times", i, n)
		}
	}
	t.Logf("killed after %d committed lines; resumed to 200", killedAt)
	// The job kept its settings and its measured throughput.
	s, _ := job["settings"].(map[string]any)
	if s["engine"] != "ollama" || s["parallel"] != float64(2) || job["output_tok_s"].(float64) <= 0 {
		t.Errorf("settings %v, output_tok_s %v", s, job["output_tok_s"])
	}
}

// TestBatchCLIErrors: refused files and calls say why, with the line number.
func TestBatchCLIErrors(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	dir := t.TempDir()
	dup := filepath.Join(dir, "dup.jsonl")
	os.WriteFile(dup, []byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}
{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"y"}]}}
`), 0o644)
	r := f.run("", "batch", "run", dup, "--engine", "openai", "--base-url", "http://127.0.0.1:1/v1")
	if r.code != 1 || !strings.Contains(r.stderr, `line 2: custom_id "a" is already used on line 1`) {
		t.Errorf("duplicate custom_id: %s", r)
	}
	taken, good := filepath.Join(dir, "taken.jsonl"), filepath.Join(dir, "good.jsonl")
	os.WriteFile(taken, []byte("user data\n"), 0o644)
	os.WriteFile(good, []byte(`{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"prompt":"x"}}`+"\n"), 0o644)
	if r := f.run("", "batch", "run", good, "--engine", "openai", "--base-url", "http://127.0.0.1:1/v1", "--output", taken); r.code != 1 ||
		!strings.Contains(r.stderr, "already exists") {
		t.Errorf("existing output file: %s", r)
	}
	if b, _ := os.ReadFile(taken); string(b) != "user data\n" {
		t.Errorf("an existing output file was changed: %q", b)
	}
	if r := f.run("", "batch", "run", "no/such:Q4_0", dup); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown model: %s", r)
	}
	if r := f.run("", "batch", "show", "7"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown job: %s", r)
	}
	if r := f.run("", "batch", "frobnicate"); r.code != 2 {
		t.Errorf("unknown subcommand: %s", r)
	}
	if r := f.ok("", "batch", "list"); !strings.Contains(r.stdout, "no batch jobs") {
		t.Errorf("empty list: %s", r)
	}
}
