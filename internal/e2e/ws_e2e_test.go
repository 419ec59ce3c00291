package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/localhub"
)

// wideLlama is about 55 MB in Q8_0, written header-only (a sparse file: no
// time or disk spent on weights nobody runs), so that with the CDN capped per
// connection the download lasts a few seconds — long enough to join midway.
var wideLlama = synth.Spec{Name: "wide-llama", Layers: 4, Embd: 1024, Heads: 16, KVHeads: 4, FF: 2048,
	Vocab: 8000, Ctx: 4096, Seed: 5, HeaderOnly: true}

// TestWebSocketJoinMidDownloadAndLeave: one client follows an install from the
// start; two more join while the download is running, get the current state
// at once, and leave early — one with a close frame, one by dropping the
// connection. The job must not notice: the first client still sees every stage
// to complete, the file lands verified in the registry, the server logs no
// error, and a client joining afterwards learns the outcome.
func TestWebSocketJoinMidDownloadAndLeave(t *testing.T) {
	root := t.TempDir()
	paths := writeRepo(t, root, "testorg", "Wide-Llama-GGUF", wideLlama, gguf.TypeQ8_0)
	st, err := os.Stat(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	size := st.Size()
	// Two download parts (files over 32 MiB), each capped: ~12 MB/s in all.
	hub := startHub(t, localhub.Options{Root: root, BandwidthPerConn: 6_000_000})
	srv := startServe(t, hub.URL())
	const id = "testorg/Wide-Llama-GGUF:Q8_0"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound on a hang
	defer cancel()

	code, job := srv.postJSON(t, "/api/models/install", map[string]any{"model_id": id, "benchmark": false})
	if code != 202 {
		t.Fatalf("install: %d %v", code, job)
	}
	wsPath, _ := job["websocket"].(string)
	if wsPath == "" {
		t.Fatalf("install answer %v has no websocket path", job)
	}
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + wsPath

	// The follower reads everything, on its own goroutine.
	follower := dial(ctx, t, wsURL)
	seen := make(chan install.Event, 1024)
	followErr := make(chan error, 1)
	go func() {
		defer close(seen)
		for {
			var ev install.Event
			if err := wsjson.Read(ctx, follower, &ev); err != nil {
				followErr <- err
				return
			}
			seen <- ev
		}
	}()
	var events []install.Event
	next := func() (install.Event, bool) {
		ev, ok := <-seen
		if ok {
			events = append(events, ev)
		}
		return ev, ok
	}

	// Wait until the download is well under way, then join twice.
	var joinAt install.Event
	for {
		ev, ok := next()
		if !ok {
			t.Fatalf("stream ended before the download was midway: %v; events %+v", <-followErr, events)
		}
		if ev.Status == install.StatusDownloading && ev.Progress >= 5 && ev.Progress <= 60 {
			joinAt = ev
			break
		}
		if ev.Final() {
			t.Fatalf("job ended (%s %s) before it was joined midway; events %+v", ev.Status, ev.Error, events)
		}
	}
	var leftAt int64 // the most the joiners saw before leaving
	for _, polite := range []bool{true, false} {
		c := dial(ctx, t, wsURL)
		var first, second install.Event
		if err := wsjson.Read(ctx, c, &first); err != nil {
			t.Fatalf("late joiner's first message: %v", err)
		}
		if first.ModelID != id || first.Status != install.StatusDownloading || first.Bytes < joinAt.Bytes || first.Total != size {
			t.Errorf("late joiner's first message %+v: want the current download state (≥ %d of %d bytes)", first, joinAt.Bytes, size)
		}
		if err := wsjson.Read(ctx, c, &second); err != nil {
			t.Fatalf("late joiner's second message: %v", err)
		}
		if second.Status == install.StatusDownloading && second.Bytes < first.Bytes {
			t.Errorf("late joiner saw bytes go back: %d then %d", first.Bytes, second.Bytes)
		}
		leftAt = max(leftAt, first.Bytes, second.Bytes)
		if polite {
			if err := c.Close(websocket.StatusNormalClosure, "leaving early"); err != nil {
				t.Errorf("close: %v", err)
			}
		} else {
			c.CloseNow() // the TCP connection just drops, as a closed laptop lid would
		}
		t.Logf("joiner (close frame %v) saw %s %.1f%% then %s %.1f%% and left", polite, first.Status, first.Progress, second.Status, second.Progress)
	}

	// The follower sees the job through.
	for {
		if _, ok := next(); !ok {
			break
		}
	}
	if err := <-followErr; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("follower's stream ended with %v, want a normal close after the final event", err)
	}
	last := events[len(events)-1]
	if last.Status != install.StatusComplete {
		t.Fatalf("final event %+v, want complete; events %+v", last, events)
	}
	var stages []string
	var prevBytes, maxBytes int64
	for _, ev := range events {
		if len(stages) == 0 || stages[len(stages)-1] != ev.Status {
			stages = append(stages, ev.Status)
		}
		if ev.Status == install.StatusDownloading {
			if ev.Bytes < prevBytes {
				t.Errorf("download bytes went back: %d after %d", ev.Bytes, prevBytes)
			}
			prevBytes, maxBytes = ev.Bytes, max(maxBytes, ev.Bytes)
		}
	}
	t.Logf("follower: %d events, stages %v; joined at %d bytes, left at %d, of %d", len(events), stages, joinAt.Bytes, leftAt, size)
	if maxBytes <= leftAt {
		t.Errorf("no download progress reached the follower after the others left (max %d, left at %d)", maxBytes, leftAt)
	}
	if stages[0] != install.StatusAnalyzing || indexOf(stages, install.StatusDownloading) < 0 {
		t.Errorf("stages %v: want analyzing first, then downloading, and complete last", stages)
	}

	// The job's result is intact: the file verified and registered.
	r, err := row(srv.list(t), id)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256File(t, paths[0])
	// Installed without a benchmark: on disk, verified, not yet measured.
	if r.Status != "untested" || r.SizeBytes != size || len(r.Files) != 1 || r.Files[0].SHA256 != want {
		t.Errorf("registry row %+v: want untested, %d bytes, sha256 %s", r, size, want)
	}
	if got := sha256File(t, r.LocalPath); got != want {
		t.Errorf("downloaded file %s has sha256 %s, want %s", r.LocalPath, got, want)
	}
	if errs := srv.errorsIn(); len(errs) > 0 {
		t.Errorf("server logged errors:\n%s", strings.Join(errs, "\n"))
	}

	// A client arriving afterwards learns the outcome and the stream ends.
	late := dial(ctx, t, wsURL)
	var outcome install.Event
	if err := wsjson.Read(ctx, late, &outcome); err != nil {
		t.Fatal(err)
	}
	if outcome.Status != install.StatusComplete || outcome.Progress != 100 {
		t.Errorf("after the job: %+v, want complete at 100", outcome)
	}
	var extra install.Event
	if err := wsjson.Read(ctx, late, &extra); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after the final event: %+v, %v; want a normal close", extra, err)
	}
}

func dial(ctx context.Context, t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial %s: %v %s", url, err, status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
