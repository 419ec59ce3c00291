package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/server/browsertest"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// batchWorld is a data directory with a tiny model registered and a real
// CPU Ollama that `fitbench serve` reaches through OLLAMA_HOST.
type batchWorld struct {
	home    string
	env     []string
	modelID string
}

func newBatchWorld(t *testing.T) *batchWorld {
	t.Helper()
	ol := ollamatest.Start(t, ollamatest.Options{Env: []string{"OLLAMA_NUM_PARALLEL=2"}})
	w := &batchWorld{home: t.TempDir(), modelID: "local/batch-e2e:F16"}
	w.env = append(os.Environ(), "FITBENCH_HOME="+w.home, "HF_HOME="+filepath.Join(w.home, "hf"), "HF_TOKEN=",
		"HF_ENDPOINT=http://127.0.0.1:9", "OLLAMA_HOST="+ol.Host,
		"FITBENCH_BENCH_THREADS=1") // one engine thread: more only contend on a shared CPU
	spec := synth.Tiny
	spec.Seed = 9
	paths, err := synth.Write(t.TempDir(), "batch-e2e", spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fitbenchBin, "add-local", paths[0], "--id", w.modelID)
	cmd.Env = w.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("add-local: %v\n%s", err, out)
	}
	return w
}

// writeInput writes n chat requests into the data directory and returns the
// path relative to it.
func (w *batchWorld) writeInput(t *testing.T, name string, n, maxTokens int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		line, _ := json.Marshal(map[string]any{"custom_id": fmt.Sprintf("r%03d", i), "method": "POST",
			"url": "/v1/chat/completions", "body": map[string]any{"max_tokens": maxTokens,
				"messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("Line %d", i)}}}})
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Join(w.home, "inputs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.home, "inputs", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return "inputs/" + name
}

// serveProc is a `fitbench serve` on this world's data directory.
type serveProc struct {
	*served
	cmd    *exec.Cmd
	exited chan struct{}
}

func (w *batchWorld) serve(t *testing.T) *serveProc {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &serveProc{served: &served{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Home: w.home, env: w.env, log: &syncBuffer{}},
		exited: make(chan struct{})}
	s.cmd = exec.Command(fitbenchBin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--engine", "ollama")
	s.cmd.Env = w.env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			t.Errorf("fitbench serve did not stop within 20 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("fitbench serve log (tail):\n%s", s.log.Tail(6000))
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if ok, _ := healthy(s.URL); ok {
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("fitbench serve exited:\n%s", s.log.Tail(4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("fitbench serve did not answer")
		}
	}
}

type apiJob struct {
	ID         int64  `json:"id"`
	State      string `json:"state"`
	OutputPath string `json:"output_path"`
	OutputURL  string `json:"output_url"`
	ErrorsURL  string `json:"errors_url"`
	WebSocket  string `json:"websocket"`
	Progress   struct {
		Done, Failed, Total int
		State               string
	} `json:"progress"`
}

func (s *serveProc) job(t *testing.T, id int64) apiJob {
	t.Helper()
	var r struct {
		Job apiJob `json:"job"`
	}
	s.getJSON(t, fmt.Sprintf("/api/batch/%d", id), &r)
	return r.Job
}

func (s *serveProc) waitJob(t *testing.T, id int64, timeout time.Duration, ok func(apiJob) bool) apiJob {
	t.Helper()
	deadline := time.Now().Add(timeout) // a bound on a hung job, not a speed assertion
	for {
		j := s.job(t, id)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: still %+v after %s", id, j, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// downloadIDs fetches an output download and counts custom_ids.
func downloadIDs(t *testing.T, url string) map[string]int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET %s: %s %v", url, resp.Status, resp.Header)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l struct {
			CustomID string `json:"custom_id"`
			Response struct {
				StatusCode int `json:"status_code"`
			} `json:"response"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Response.StatusCode != 200 {
			t.Fatalf("%s: bad line %q: %v", url, sc.Text(), err)
		}
		out[l.CustomID]++
	}
	return out
}

// TestBatchServerRestartResumes: a job submitted over the API is running when
// the server is killed (SIGKILL); the next `fitbench serve` resumes it on its
// own, the WebSocket follows it to the end, and the output holds every line
// exactly once.
func TestBatchServerRestartResumes(t *testing.T) {
	w := newBatchWorld(t)
	path := w.writeInput(t, "in.jsonl", 200, 4)
	s1 := w.serve(t)
	st, body := s1.postJSON(t, "/api/batch", map[string]any{"model_id": w.modelID, "path": path})
	if st != http.StatusAccepted {
		t.Fatalf("POST /api/batch: %d %v", st, body)
	}
	jb, _ := json.Marshal(body["job"])
	var j apiJob
	json.Unmarshal(jb, &j)
	if j.ID <= 0 || j.WebSocket != fmt.Sprintf("/ws/batch/%d", j.ID) {
		t.Fatalf("created job %s", jb)
	}
	mid := s1.waitJob(t, j.ID, 5*time.Minute, func(j apiJob) bool { return j.Progress.Done >= 20 })
	if err := s1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s1.exited
	if mid.Progress.Done >= 200 {
		t.Fatal("the job finished before the server was killed")
	}

	s2 := w.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s2.URL, "http", "ws", 1)+j.WebSocket, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var states []string
	var last struct {
		State       string `json:"state"`
		Done, Total int
	}
	for {
		if err := wsjson.Read(ctx, c, &last); err != nil {
			t.Fatalf("websocket after %v: %v", states, err)
		}
		if len(states) == 0 || states[len(states)-1] != last.State {
			states = append(states, last.State)
		}
		if last.State == "completed" || last.State == "failed" || last.State == "cancelled" {
			break
		}
	}
	if last.State != "completed" || last.Done != 200 {
		t.Fatalf("after restart: %+v (states %v)", last, states)
	}
	ids := downloadIDs(t, s2.URL+j.OutputURL)
	for i := 0; i < 200; i++ {
		if n := ids[fmt.Sprintf("r%03d", i)]; n != 1 {
			t.Errorf("r%03d appears %d times", i, n)
		}
	}
	if len(ids) != 200 {
		t.Errorf("%d distinct custom_ids", len(ids))
	}
	if !strings.Contains(s2.log.Tail(1<<20), "resuming unfinished batch jobs") {
		t.Errorf("the restarted server did not log the resume")
	}
	t.Logf("killed at %d done; websocket states %v", mid.Progress.Done, states)
}

// TestBatchAPIRefusals: inputs outside the data directory, FIFOs, bad
// files and unknown models are refused with a reason; uploads work.
func TestBatchAPIRefusals(t *testing.T) {
	w := newBatchWorld(t)
	s := w.serve(t)
	fifo := filepath.Join(w.home, "inputs", "fifo.jsonl")
	os.MkdirAll(filepath.Dir(fifo), 0o755)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.jsonl")
	os.WriteFile(outside, []byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}`+"\n"), 0o644)
	os.Symlink(outside, filepath.Join(w.home, "inputs", "link.jsonl"))
	dup := w.writeInput(t, "dup.jsonl", 2, 1)
	raw, _ := os.ReadFile(filepath.Join(w.home, dup))
	os.WriteFile(filepath.Join(w.home, dup), append(raw, raw...), 0o644)
	for _, c := range []struct {
		body   map[string]any
		status int
		text   string
	}{
		{map[string]any{"model_id": w.modelID, "path": outside}, 403, "outside the data directory"},
		{map[string]any{"model_id": w.modelID, "path": "../../etc/passwd"}, 403, "outside the data directory"},
		{map[string]any{"model_id": w.modelID, "path": "inputs/link.jsonl"}, 403, "outside the data directory"},
		{map[string]any{"model_id": w.modelID, "path": "inputs/fifo.jsonl"}, 400, "not a regular file"},
		{map[string]any{"model_id": w.modelID, "path": "inputs/none.jsonl"}, 400, "no such file"},
		{map[string]any{"model_id": w.modelID, "path": dup}, 422, `line 3: custom_id "r000" is already used on line 1`},
		{map[string]any{"model_id": "no/such:Q4_0", "path": dup}, 404, "not found"},
		{map[string]any{"path": dup}, 400, "model_id is required"},
	} {
		st, body := s.postJSON(t, "/api/batch", c.body)
		if st != c.status || !strings.Contains(fmt.Sprint(body["error"]), c.text) || strings.Contains(fmt.Sprint(body["error"]), w.home) {
			t.Errorf("POST %v: %d %v, want %d mentioning %q (and not the data directory)", c.body, st, body, c.status, c.text)
		}
	}
	// An upload: the body is the file; it is stored inside the data directory.
	var up bytes.Buffer
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&up, `{"custom_id":"u%d","method":"POST","url":"/v1/completions","body":{"prompt":"Hi %d","max_tokens":2}}`+"\n", i, i)
	}
	up.WriteString("{not json\n")
	resp, err := http.Post(s.URL+"/api/batch?model_id="+w.modelID, "application/jsonl", &up)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Job apiJob
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("upload: %s", resp.Status)
	}
	j := s.waitJob(t, created.Job.ID, 3*time.Minute, func(j apiJob) bool { return j.State != "queued" && j.State != "running" })
	if j.State != "completed" || j.Progress.Done != 3 || j.Progress.Failed != 1 {
		t.Fatalf("uploaded job %+v", j)
	}
	if ids := downloadIDs(t, s.URL+j.OutputURL); len(ids) != 3 {
		t.Errorf("upload outputs %v", ids)
	}
	resp, err = http.Get(s.URL + j.ErrorsURL)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if e.Error.Code != "invalid_json" || !strings.HasPrefix(e.Error.Message, "line 4: ") {
		t.Errorf("error file: %+v", e)
	}
	// Cancel of a finished job is a conflict; unknown ids are 404.
	if st, body := s.postJSON(t, fmt.Sprintf("/api/batch/%d/cancel", j.ID), map[string]any{}); st != 409 {
		t.Errorf("cancel finished: %d %v", st, body)
	}
	if st, _ := s.postJSON(t, "/api/batch/999/cancel", map[string]any{}); st != 404 {
		t.Errorf("cancel unknown: %d", st)
	}
}

// TestBrowserBatchJob drives the page in real Chromium: workbench → "Use in
// production" → upload a file → the job's progress bar runs to the end →
// download links serve the output (every good line once) and the error file
// (the bad line with its reason).
func TestBrowserBatchJob(t *testing.T) {
	b := browsertest.New(t)
	w := newBatchWorld(t)
	s := w.serve(t)
	file := filepath.Join(t.TempDir(), "page.jsonl")
	var in bytes.Buffer
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&in, `{"custom_id":"p%02d","method":"POST","url":"/v1/chat/completions","body":{"max_tokens":4,"messages":[{"role":"user","content":"Page line %d"}]}}`+"\n", i, i)
	}
	in.WriteString(`{"custom_id":"bad","method":"POST","url":"/v1/images/generations","body":{"prompt":"x"}}` + "\n")
	if err := os.WriteFile(file, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := browsertest.BatchFlow(t, b, s.URL, w.modelID, file, 5*time.Minute) // a bound, not an assertion
	t.Logf("batch page: states %v, progress %v, %q", res.States, res.Progress, res.Text)
	if len(res.States) == 0 || res.States[len(res.States)-1] != "completed" || res.Done != 40 || res.Failed != 1 ||
		res.Progress[len(res.Progress)-1] != 100 || res.JobRowState != "completed" {
		t.Fatalf("page result %+v", res)
	}
	// The job's page at phone width, light and dark: nothing wider than the screen.
	for _, dark := range []bool{false, true} {
		if over := browsertest.HorizontalOverflow(t, b, s.URL, "/batch.html?job=1", "", fmt.Sprintf("phone-batch-dark-%v", dark), dark); over > 0 {
			t.Errorf("batch page at 390 px (dark %v) is %d px too wide", dark, over)
		}
	}
	ids := downloadIDs(t, res.OutputHref)
	if len(ids) != 40 {
		t.Errorf("output download has %d custom_ids, want 40", len(ids))
	}
	resp, err := http.Get(res.ErrorsHref)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		CustomID string `json:"custom_id"`
		Error    struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.CustomID != "bad" || e.Error.Code != "unsupported_url" ||
		!strings.Contains(e.Error.Message, "line 41: ") {
		t.Errorf("error download: %+v %v", e, err)
	}
}

// TestBatchAPICancelResume: cancel over the API stops a running job at once
// (lines pending, nothing half-written); resume over the API finishes exactly
// the rest.
func TestBatchAPICancelResume(t *testing.T) {
	w := newBatchWorld(t)
	path := w.writeInput(t, "cancel.jsonl", 150, 4)
	s := w.serve(t)
	st, body := s.postJSON(t, "/api/batch", map[string]any{"model_id": w.modelID, "path": path, "concurrency": 1})
	if st != http.StatusAccepted {
		t.Fatalf("POST /api/batch: %d %v", st, body)
	}
	id := int64(body["job"].(map[string]any)["id"].(float64))
	before := s.waitJob(t, id, 5*time.Minute, func(j apiJob) bool { return j.Progress.Done >= 10 })
	st, body = s.postJSON(t, fmt.Sprintf("/api/batch/%d/cancel", id), map[string]any{})
	if st != http.StatusOK {
		t.Fatalf("cancel: %d %v", st, body)
	}
	j := s.waitJob(t, id, time.Minute, func(j apiJob) bool { return j.State == "cancelled" })
	// Concurrency 1: besides the lines done when we asked, at most the one in
	// flight and the few that finish between our progress read and the cancel.
	if j.Progress.Done >= 150 || j.Progress.Done > before.Progress.Done+5 {
		t.Fatalf("cancel did not stop the job promptly: %d done when asked, %d after (%+v)", before.Progress.Done, j.Progress.Done, j)
	}
	time.Sleep(300 * time.Millisecond)
	if again := s.job(t, id); again.Progress.Done != j.Progress.Done {
		t.Fatalf("lines kept finishing after cancel: %d then %d", j.Progress.Done, again.Progress.Done)
	}
	if n := len(downloadIDs(t, s.URL+j.OutputURL)); n != j.Progress.Done {
		t.Fatalf("output has %d lines, the job says %d", n, j.Progress.Done)
	}
	if st, body = s.postJSON(t, fmt.Sprintf("/api/batch/%d/resume", id), map[string]any{}); st != http.StatusOK {
		t.Fatalf("resume: %d %v", st, body)
	}
	j = s.waitJob(t, id, 5*time.Minute, func(j apiJob) bool { return j.State == "completed" || j.State == "failed" })
	ids := downloadIDs(t, s.URL+j.OutputURL)
	if j.State != "completed" || j.Progress.Done != 150 || len(ids) != 150 {
		t.Fatalf("after resume: %+v, %d ids", j, len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s appears %d times", id, n)
		}
	}
}
