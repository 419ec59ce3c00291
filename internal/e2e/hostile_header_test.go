package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/localhub"
)

// writeHeaderOnly writes a GGUF holding only the given metadata (no tensors):
// the 69-byte file of issue 14 is general.architecture=llama alone.
func writeHeaderOnly(t *testing.T, path string, kv []gguf.KV) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, kv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIncompleteHeaderCannotCrashServer (issue 14, item 1): a GGUF without
// block_count (or with block_count=0) once panicked in the estimator — in the
// API's install that was a background goroutine, so `fitbench serve` exited and
// every job in it died. Now analyze answers 422 naming the missing key, install
// fails its own job before downloading, the CLI prints an error (no stack), and
// the server keeps serving.
func TestIncompleteHeaderCannotCrashServer(t *testing.T) {
	root := t.TempDir()
	writeHeaderOnly(t, filepath.Join(root, "evil", "Tiny-GGUF", "Tiny-Q8_0.gguf"),
		[]gguf.KV{{Key: "general.architecture", Value: gguf.String("llama")}})
	writeHeaderOnly(t, filepath.Join(root, "evil", "Zero-GGUF", "Zero-Q8_0.gguf"),
		[]gguf.KV{{Key: "general.architecture", Value: gguf.String("llama")},
			{Key: "llama.block_count", Value: gguf.Uint32(0)},
			{Key: "llama.embedding_length", Value: gguf.Uint32(64)}})
	if st, _ := os.Stat(filepath.Join(root, "evil", "Tiny-GGUF", "Tiny-Q8_0.gguf")); st.Size() > 100 {
		t.Fatalf("the hostile file is %d bytes; the reproduction needs a tiny one", st.Size())
	}
	hub := startHub(t, localhub.Options{Root: root})
	srv := startServe(t, hub.URL())

	for _, repo := range []string{"evil/Tiny-GGUF", "evil/Zero-GGUF"} {
		code, body := srv.postJSON(t, "/api/models/analyze", map[string]any{"content": repo})
		msg, _ := body["error"].(string)
		if code != 422 || !strings.Contains(msg, "block_count") {
			t.Errorf("analyze %s: %d %v; want 422 naming block_count", repo, code, body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const id = "evil/Tiny-GGUF:Q8_0"
	code, job := srv.postJSON(t, "/api/models/install", map[string]any{"model_id": id, "benchmark": false})
	switch {
	case code == 202:
		wsPath, _ := job["websocket"].(string)
		c := dial(ctx, t, "ws"+strings.TrimPrefix(srv.URL, "http")+wsPath)
		var last install.Event
		for last.Status != install.StatusFailed && last.Status != install.StatusComplete {
			if err := wsjson.Read(ctx, c, &last); err != nil {
				t.Fatalf("progress stream ended before the job did: %v\n%s", err, srv.log.Tail(3000))
			}
		}
		if last.Status != install.StatusFailed || !strings.Contains(last.Error, "block_count") {
			t.Errorf("install ended %+v; want failed naming block_count", last)
		}
	case code >= 400 && code < 500:
		if msg, _ := job["error"].(string); !strings.Contains(msg, "block_count") {
			t.Errorf("install refused with %v; want the missing key named", job)
		}
	default:
		t.Fatalf("install: %d %v", code, job)
	}
	if ok, err := healthy(srv.URL); !ok {
		t.Fatalf("the server died after the hostile install: %v\n%s", err, srv.log.Tail(4000))
	}
	for _, r := range srv.list(t) {
		if r.ModelID == id && r.Status != "failed" {
			t.Errorf("registry row %+v; nothing but a failed row may remain", r)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(srv.Home, "models", "*", "*")); len(matches) > 0 {
		t.Errorf("files written for a model no engine can load: %v", matches)
	}

	// The CLI on the same file on disk: an error naming the key, not a stack trace.
	cmd := exec.Command(fitbenchBin, "analyze", filepath.Join(root, "evil", "Tiny-GGUF", "Tiny-Q8_0.gguf"))
	cmd.Env = srv.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil || !strings.Contains(out.String(), "block_count") || strings.Contains(out.String(), "goroutine ") {
		t.Errorf("CLI analyze of the 69-byte file: err=%v\n%s", err, out.String())
	}
}
