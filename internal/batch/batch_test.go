package batch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// world is one test's real parts: a SQLite registry in a temp data directory
// and a model loaded in a real CPU Ollama.
type world struct {
	dir  string
	db   *registry.DB
	inst engine.Instance
}

func newWorld(t *testing.T, parallel int) *world {
	t.Helper()
	srv := ollamatest.Start(t, ollamatest.Options{Env: []string{fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", parallel)}})
	w := &world{dir: t.TempDir()}
	db, err := registry.Open(filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.db = db
	spec := synth.Tiny
	spec.Seed = 3
	paths, err := synth.Write(t.TempDir(), "batch-tiny", spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	inst, err := (&engine.Ollama{Host: srv.URL, Log: srv.Log}).Start(ctx, engine.Settings{
		ModelPath: paths[0], ModelID: "fitbench/Batch-Tiny-GGUF:F16", GPULayers: -1, Ctx: 1024, Parallel: parallel, Seed: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop(context.Background()) })
	w.inst = inst
	return w
}

func chatLine(id string, prompt string, maxTokens int) string {
	b, _ := json.Marshal(map[string]any{"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
		"body": map[string]any{"model": "any", "messages": []map[string]string{{"role": "user", "content": prompt}},
			"max_tokens": maxTokens, "temperature": 0}})
	return string(b)
}

func completionLine(id string, prompt string, maxTokens int) string {
	b, _ := json.Marshal(map[string]any{"custom_id": id, "method": "POST", "url": "/v1/completions",
		"body": map[string]any{"model": "any", "prompt": prompt, "max_tokens": maxTokens}})
	return string(b)
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readOutput(t *testing.T, path string) []OutputLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []OutputLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var o OutputLine
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("%s: line %d is not JSON: %v: %q", path, len(out)+1, err, sc.Text())
		}
		out = append(out, o)
	}
	return out
}

type chatBody struct {
	Object  string `json:"object"`
	Choices []struct {
		Message *struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Text         *string `json:"text"`
		FinishReason string  `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestBatch200LinesOnOllama(t *testing.T) {
	w := newWorld(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a bound, not an assertion
	defer cancel()
	input := filepath.Join(w.dir, "requests.jsonl")
	var lines []string
	want := map[string]string{} // custom_id → url
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("req-%03d", i)
		if i%10 == 9 {
			lines = append(lines, completionLine(id, fmt.Sprintf("Once upon a time %d", i), 3))
			want[id] = URLCompletions
		} else {
			lines = append(lines, chatLine(id, fmt.Sprintf("Say something about the number %d.", i), 3))
			want[id] = URLChat
		}
	}
	writeLines(t, input, lines)
	job, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, ModelID: "fitbench/Batch-Tiny-GGUF:F16", Input: input,
		Settings: Settings{Engine: "ollama"}})
	if err != nil {
		t.Fatal(err)
	}
	var snaps []Snapshot
	final, err := Run(ctx, w.db, job.ID, w.inst, Options{Progress: func(s Snapshot) { snaps = append(snaps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if final.State != registry.BatchCompleted || final.DoneLines != 200 || final.FailedLines != 0 || final.TotalLines != 200 {
		t.Fatalf("job %+v", final)
	}
	outs := readOutput(t, final.OutputPath)
	if len(outs) != 200 {
		t.Fatalf("%d output lines, want 200", len(outs))
	}
	seen := map[string]bool{}
	var tokens int64
	for _, o := range outs {
		if o.CustomID == nil || o.Response == nil || o.Error != nil || !strings.HasPrefix(o.ID, "batch_req_") {
			t.Fatalf("output line %+v", o)
		}
		id := *o.CustomID
		url, ok := want[id]
		if !ok || seen[id] {
			t.Fatalf("custom_id %q unknown or repeated", id)
		}
		seen[id] = true
		if o.Response.StatusCode != 200 || o.Response.RequestID == "" {
			t.Fatalf("%s: response %+v", id, o.Response)
		}
		var b chatBody
		if err := json.Unmarshal(o.Response.Body, &b); err != nil || len(b.Choices) != 1 {
			t.Fatalf("%s: body %s", id, o.Response.Body)
		}
		wantObj := "chat.completion"
		if url == URLCompletions {
			wantObj = "text_completion"
		}
		if b.Object != wantObj || (url == URLChat) != (b.Choices[0].Message != nil) || (url == URLCompletions) != (b.Choices[0].Text != nil) {
			t.Fatalf("%s (%s): body %s", id, url, o.Response.Body)
		}
		if b.Usage.CompletionTokens < 1 || b.Usage.CompletionTokens > 3 || b.Usage.PromptTokens < 1 ||
			b.Usage.TotalTokens != b.Usage.PromptTokens+b.Usage.CompletionTokens {
			t.Fatalf("%s: usage %+v (max_tokens 3)", id, b.Usage)
		}
		tokens += int64(b.Usage.CompletionTokens)
	}
	if tokens != final.OutputTokens || final.OutputTokS <= 0 || final.RunSeconds <= 0 {
		t.Errorf("job tokens %d (%.1f tok/s over %.1f s), outputs sum to %d", final.OutputTokens, final.OutputTokS, final.RunSeconds, tokens)
	}
	if errs := readOutput(t, final.ErrorPath); len(errs) != 0 {
		t.Errorf("error file has %d lines: %+v", len(errs), errs[0])
	}
	// Progress went up to 200 and ended completed; the job kept its settings.
	last := snaps[len(snaps)-1]
	if last.State != registry.BatchCompleted || last.Done != 200 || last.Progress != 100 || len(snaps) < 3 {
		t.Errorf("%d snapshots, last %+v", len(snaps), last)
	}
	mid := snaps[len(snaps)/2]
	if mid.State != registry.BatchRunning || mid.Done <= 0 || mid.Done >= 200 || mid.LinesPerS <= 0 || mid.ETASeconds <= 0 {
		t.Errorf("mid-run snapshot %+v", mid)
	}
	s := ParseSettings(final)
	if s.Concurrency != 2 || s.Ctx != 1024 || s.Flags["num_ctx"] != "1024" || final.Engine != "ollama" {
		t.Errorf("recorded settings %+v engine %q", s, final.Engine)
	}
	t.Logf("200 lines: %.1f output tok/s, %.2f lines/s, %.1f s", final.OutputTokS, final.LinesPerS, final.RunSeconds)
}

func TestBatchBadLines(t *testing.T) {
	w := newWorld(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	input := filepath.Join(w.dir, "bad.jsonl")
	huge := strings.Repeat("word ", 2000) // about 2,500 tokens at 4 bytes per token: more than ctx 1024
	lines := []string{
		chatLine("ok-1", "Hello", 2),                // 1
		`{"custom_id": "broken", "method": "POST",`, // 2 malformed
		chatLine("", "no id", 2),                    // 3 empty custom_id
		`{"custom_id": "emb", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}`,                                        // 4
		`{"custom_id": "get", "method": "GET", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}}`, // 5
		chatLine("huge", huge, 2), // 6 too large for the context
		"",                        // 7 blank: skipped
		`{"custom_id": "nomsg", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}`, // 8
		chatLine("changed", "This line will be edited", 2),                                                  // 9
		chatLine("ok-2", "Bye", 2), // 10
	}
	writeLines(t, input, lines)
	job, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: input, Settings: Settings{Engine: "ollama"}})
	if err != nil {
		t.Fatal(err)
	}
	if job.TotalLines != 9 {
		t.Fatalf("total %d, want 9 (the blank line is not a request)", job.TotalLines)
	}
	// Edit line 9 in place after the job was created: same length, other bytes.
	raw, _ := os.ReadFile(input)
	edited := strings.Replace(string(raw), "will be edited", "WILL BE EDITED", 1)
	if len(edited) != len(raw) {
		t.Fatal("edit changed the length")
	}
	if err := os.WriteFile(input, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	final, err := Run(ctx, w.db, job.ID, w.inst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if final.State != registry.BatchCompleted || final.DoneLines != 2 || final.FailedLines != 7 {
		t.Fatalf("job %+v", final)
	}
	outs := readOutput(t, final.OutputPath)
	if len(outs) != 2 || *outs[0].CustomID+*outs[1].CustomID != "ok-1ok-2" && *outs[0].CustomID+*outs[1].CustomID != "ok-2ok-1" {
		t.Fatalf("outputs %+v", outs)
	}
	errs := readOutput(t, final.ErrorPath)
	byLine := map[int]OutputLine{}
	for _, e := range errs {
		if e.Error == nil || e.Response != nil || e.Error.Line == 0 {
			t.Fatalf("error line %+v", e)
		}
		byLine[e.Error.Line] = e
	}
	for line, want := range map[int]struct{ code, text string }{
		2: {CodeInvalidJSON, "not a JSON object"},
		3: {CodeInvalidRequest, "custom_id"},
		4: {CodeUnsupportedURL, `"/v1/embeddings" is not supported`},
		5: {CodeInvalidRequest, `"GET"`},
		6: {CodeContextLength, "1024-token context"},
		8: {CodeInvalidRequest, `no "messages"`},
		9: {CodeInputChanged, "changed while the job runs"},
	} {
		e, ok := byLine[line]
		if !ok {
			t.Errorf("line %d: not in the error file", line)
			continue
		}
		if e.Error.Code != want.code || !strings.Contains(e.Error.Message, want.text) ||
			!strings.HasPrefix(e.Error.Message, fmt.Sprintf("line %d: ", line)) {
			t.Errorf("line %d: error %+v, want code %s mentioning %q", line, e.Error, want.code, want.text)
		}
	}
	if e := byLine[6]; e.CustomID == nil || *e.CustomID != "huge" {
		t.Errorf("the too-large line keeps its custom_id: %+v", e)
	}
	if len(errs) != 7 {
		t.Errorf("%d error lines, want 7", len(errs))
	}

	// Refused files: a duplicate custom_id (with both line numbers), a FIFO.
	dup := filepath.Join(w.dir, "dup.jsonl")
	writeLines(t, dup, []string{chatLine("a", "x", 1), chatLine("b", "x", 1), chatLine("a", "y", 1)})
	_, err = Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: dup})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Line != 3 || !strings.Contains(err.Error(), `custom_id "a" is already used on line 1`) {
		t.Errorf("duplicate custom_id: %v", err)
	}
	fifo := filepath.Join(w.dir, "fifo.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: fifo}); !errors.As(err, &ie) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo: %v", err)
	}
	if _, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: "/dev/null"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("device: %v", err)
	}
}

// TestBatchCancelAndResume cancels through the registry flag (as `fitbench
// batch cancel` from another process does): no new line starts after it, the
// job is cancelled with lines pending, and a resume finishes exactly those.
func TestBatchCancelAndResume(t *testing.T) {
	w := newWorld(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	input := filepath.Join(w.dir, "many.jsonl")
	var lines []string
	for i := 0; i < 60; i++ {
		lines = append(lines, chatLine(fmt.Sprintf("c%02d", i), fmt.Sprintf("Count to %d", i), 8))
	}
	writeLines(t, input, lines)
	job, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: input})
	if err != nil {
		t.Fatal(err)
	}
	doneAtCancel := -1
	final, err := Run(ctx, w.db, job.ID, w.inst, Options{PollInterval: 20 * time.Millisecond, Progress: func(s Snapshot) {
		if s.Done >= 3 && doneAtCancel < 0 {
			doneAtCancel = s.Done
			if err := w.db.RequestBatchCancel(context.Background(), job.ID); err != nil {
				t.Error(err)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrency 1, and the flag is read before every line: after the
	// callback set it, only lines already finished can still be committed —
	// the results buffer (4 × concurrency) and the one result a blocked worker
	// holds (the committer runs this callback, so it drains nothing meanwhile).
	// A structural bound, not a timing one.
	if final.State != registry.BatchCancelled || final.DoneLines > doneAtCancel+4+1 || final.DoneLines >= 60 {
		t.Fatalf("after cancel at %d done: %+v", doneAtCancel, final)
	}
	if n := len(readOutput(t, final.OutputPath)); n != final.DoneLines {
		t.Fatalf("output has %d lines, job says %d", n, final.DoneLines)
	}
	final, err = Run(ctx, w.db, job.ID, w.inst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	outs := readOutput(t, final.OutputPath)
	if final.State != registry.BatchCompleted || final.DoneLines != 60 || len(outs) != 60 {
		t.Fatalf("after resume: %+v, %d output lines", final, len(outs))
	}
	seen := map[string]int{}
	for _, o := range outs {
		seen[*o.CustomID]++
	}
	for i := 0; i < 60; i++ {
		if id := fmt.Sprintf("c%02d", i); seen[id] != 1 {
			t.Errorf("%s appears %d times", id, seen[id])
		}
	}
}

// TestBatchResumeCutsUncommittedBytes: bytes past the committed length (a
// line written just before a crash, or half of one) are cut off on resume.
func TestBatchResumeCutsUncommittedBytes(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	input := filepath.Join(w.dir, "few.jsonl")
	writeLines(t, input, []string{chatLine("x1", "a", 2), chatLine("x2", "b", 2), chatLine("x3", "c", 2)})
	job, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: input})
	if err != nil {
		t.Fatal(err)
	}
	// As a crash leaves it: the first line answered and committed, then an
	// answer for x2 written but not committed, then half a line.
	out, _ := openAppender(job.OutputPath, 0)
	rec := mustJSON(OutputLine{ID: "batch_req_1", CustomID: ptr("x1"), Response: &OutputResponse{StatusCode: 200, RequestID: "r", Body: json.RawMessage(`{}`)}})
	if err := out.write([][]byte{rec}); err != nil {
		t.Fatal(err)
	}
	if err := w.db.CommitBatchLines(ctx, job.ID, []registry.LineResult{{LineNo: 1}}, out.size, 0); err != nil {
		t.Fatal(err)
	}
	out.write([][]byte{mustJSON(OutputLine{ID: "batch_req_2", CustomID: ptr("x2")})})
	out.f.WriteAt([]byte(`{"id":"batch_req_half","custom`), out.size)
	out.close()
	if err := w.db.SetBatchState(ctx, job.ID, registry.BatchRunning, ""); err != nil {
		t.Fatal(err)
	}
	final, err := Run(ctx, w.db, job.ID, w.inst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	outs := readOutput(t, final.OutputPath)
	ids := []string{}
	for _, o := range outs {
		ids = append(ids, *o.CustomID)
	}
	if final.DoneLines != 3 || len(outs) != 3 || ids[0] != "x1" || outs[0].ID != "batch_req_1" {
		t.Fatalf("after resume: %+v, outputs %v", final, ids)
	}
}

func ptr(s string) *string { return &s }

// TestBatchTimeoutsEndTheRunThenResume: with a per-request timeout no answer
// can meet, every request is retried and still gets none; after 10 in a row
// the run ends failed with the reason, and none of those lines is written —
// they stay pending, and a resume with a sane timeout answers all of them.
func TestBatchTimeoutsEndTheRunThenResume(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	input := filepath.Join(w.dir, "slow.jsonl")
	var lines []string
	for i := 0; i < 20; i++ {
		lines = append(lines, chatLine(fmt.Sprintf("t%02d", i), fmt.Sprintf("Line %d", i), 4))
	}
	writeLines(t, input, lines)
	job, err := Create(ctx, w.db, CreateOptions{DataDir: w.dir, Input: input})
	if err != nil {
		t.Fatal(err)
	}
	final, err := Run(ctx, w.db, job.ID, w.inst, Options{RequestTimeout: time.Millisecond, Retries: 1, Backoff: time.Millisecond})
	if err == nil || final.State != registry.BatchFailed || !strings.Contains(final.Error, "stopped answering") ||
		!strings.Contains(final.Error, "no answer from the engine after 2 attempts") {
		t.Fatalf("run with 1 ms timeouts: %v, %+v", err, final)
	}
	if final.DoneLines != 0 || final.FailedLines != 0 || len(readOutput(t, final.ErrorPath)) != 0 {
		t.Fatalf("lines without an answer were recorded: %+v", final)
	}
	final, err = Run(ctx, w.db, job.ID, w.inst, Options{})
	if err != nil || final.State != registry.BatchCompleted || final.DoneLines != 20 || len(readOutput(t, final.OutputPath)) != 20 {
		t.Fatalf("resume: %v %+v", err, final)
	}
}

// TestBatchEngineDiesMidJob: the engine process fitbench started is killed
// mid-job; the run ends failed with the engine's exit as the reason, lines in
// flight stay pending, and a resume on a new engine finishes every line once.
func TestBatchEngineDiesMidJob(t *testing.T) {
	bin := ollamatest.Require(t)
	dir := t.TempDir()
	db, err := registry.Open(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	paths, err := synth.Write(t.TempDir(), "batch-die", synth.Tiny)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := func() engine.Instance {
		inst, err := (&engine.Ollama{Binary: bin, AlwaysStart: true, Env: []string{"HOME=" + dir}, ModelsDir: filepath.Join(dir, "models")}).Start(ctx,
			engine.Settings{ModelPath: paths[0], ModelID: "fitbench/die:F16", GPULayers: -1, Ctx: 512, Threads: 1, LogDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inst.Stop(context.Background()) })
		return inst
	}
	inst := start()
	pid := inst.(interface{ Pid() int }).Pid()
	input := filepath.Join(dir, "die.jsonl")
	var lines []string
	for i := 0; i < 150; i++ {
		lines = append(lines, chatLine(fmt.Sprintf("d%03d", i), fmt.Sprintf("Line %d", i), 4))
	}
	writeLines(t, input, lines)
	job, err := Create(ctx, db, CreateOptions{DataDir: dir, Input: input})
	if err != nil {
		t.Fatal(err)
	}
	killed := false
	final, err := Run(ctx, db, job.ID, inst, Options{Progress: func(s Snapshot) {
		if s.Done >= 10 && !killed {
			killed = true
			syscall.Kill(-pid, syscall.SIGKILL) // the server and its runner
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}})
	if err == nil || final.State != registry.BatchFailed || !strings.Contains(final.Error, "engine exited mid-job") || final.DoneLines >= 150 {
		t.Fatalf("after the engine died: %v %+v", err, final)
	}
	t.Logf("engine killed at %d done: %s", final.DoneLines, final.Error)
	final, err = Run(ctx, db, job.ID, start(), Options{})
	if err != nil || final.State != registry.BatchCompleted || final.DoneLines+final.FailedLines != 150 {
		t.Fatalf("resume on a new engine: %v %+v", err, final)
	}
	seen := map[string]int{}
	for _, o := range readOutput(t, final.OutputPath) {
		seen[*o.CustomID]++
	}
	for _, e := range readOutput(t, final.ErrorPath) {
		seen[*e.CustomID]++
	}
	for i := 0; i < 150; i++ {
		if id := fmt.Sprintf("d%03d", i); seen[id] != 1 {
			t.Errorf("%s appears %d times", id, seen[id])
		}
	}
}
