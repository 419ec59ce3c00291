package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

func dialWS(t *testing.T, ctx context.Context, e *env, modelID string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws/model-install/" + modelID
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.http.URL}}})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	return c
}

func readEvent(t *testing.T, ctx context.Context, c *websocket.Conn) install.Event {
	t.Helper()
	var ev install.Event
	if err := wsjson.Read(ctx, c, &ev); err != nil {
		t.Fatalf("read event: %v", err)
	}
	return ev
}

// readUntilClose reads events until the server closes the stream and returns
// them with the close status.
func readUntilClose(ctx context.Context, c *websocket.Conn) ([]install.Event, websocket.StatusCode, string) {
	var evs []install.Event
	for {
		var ev install.Event
		err := wsjson.Read(ctx, c, &ev)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return evs, ce.Code, ce.Reason
			}
			return evs, -1, err.Error()
		}
		evs = append(evs, ev)
	}
}

// TestWebSocketJoinMidJobAndLeaveEarly: a client joining mid-download first
// gets the current state; a client leaving early does not disturb the job,
// and another subscriber still sees it complete.
func TestWebSocketJoinMidJobAndLeaveEarly(t *testing.T) {
	e := newEnv(t, 0, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bus := e.inst.Bus()
	const id = "org/mid-GGUF:Q4_K_M"
	for _, p := range []float64{10, 20, 30} {
		bus.Publish(install.Event{ModelID: id, Status: install.StatusDownloading, Progress: p, Bytes: int64(p) * 1e6, Total: 100e6})
	}

	early := dialWS(t, ctx, e, "org%2Fmid-GGUF:Q4_K_M") // escaped form
	first := readEvent(t, ctx, early)
	if first.Status != install.StatusDownloading || first.Progress != 30 || first.Bytes != 30e6 {
		t.Fatalf("first message %+v, want the current state (downloading 30%%)", first)
	}
	bus.Publish(install.Event{ModelID: id, Status: install.StatusDownloading, Progress: 40})
	if ev := readEvent(t, ctx, early); ev.Progress != 40 {
		t.Fatalf("next message %+v, want progress 40", ev)
	}
	late := dialWS(t, ctx, e, "org/mid-GGUF:Q4_K_M") // plain form, slashes and colon
	if ev := readEvent(t, ctx, late); ev.Progress != 40 {
		t.Fatalf("late subscriber's first message %+v, want progress 40", ev)
	}
	early.Close(websocket.StatusNormalClosure, "bye") // leaves mid-job

	// The job keeps publishing; nothing blocks and the other client sees it through.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := 50.0; p <= 100; p += 10 {
			bus.Publish(install.Event{ModelID: id, Status: install.StatusDownloading, Progress: p})
		}
		bus.Publish(install.Event{ModelID: id, Status: install.StatusBenchmarking, Sample: 1, Samples: 2, Progress: 50})
		bus.Publish(install.Event{ModelID: id, Status: install.StatusComplete, Progress: 100})
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the publisher was blocked after a client left")
	}
	evs, code, reason := readUntilClose(ctx, late)
	if len(evs) == 0 || evs[len(evs)-1].Status != install.StatusComplete {
		t.Fatalf("late subscriber got %+v, want it to end with complete", evs)
	}
	if code != websocket.StatusNormalClosure || reason != "complete" {
		t.Errorf("close %d %q, want normal closure \"complete\"", code, reason)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Status == evs[i-1].Status && evs[i].Progress < evs[i-1].Progress {
			t.Errorf("progress went backwards: %+v then %+v", evs[i-1], evs[i])
		}
	}

	// A subscriber arriving after the end gets the outcome at once.
	after := dialWS(t, ctx, e, "org%2Fmid-GGUF:Q4_K_M")
	evs, code, _ = readUntilClose(ctx, after)
	if len(evs) != 1 || evs[0].Status != install.StatusComplete || code != websocket.StatusNormalClosure {
		t.Errorf("after the end: %+v (close %d), want one complete event", evs, code)
	}
}

// TestWebSocketRealJob follows a job started through the API, opened right
// after the 202 as the page does.
func TestWebSocketRealJob(t *testing.T) {
	e := newEnv(t, 5*time.Millisecond, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.Post(e.http.URL+"/api/models/install", "application/json",
		strings.NewReader(`{"model_id":"org/job-GGUF:Q4_0","benchmark":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("install: %d", resp.StatusCode)
	}
	c := dialWS(t, ctx, e, "org%2Fjob-GGUF:Q4_0")
	evs, code, _ := readUntilClose(ctx, c)
	if code != websocket.StatusNormalClosure || len(evs) == 0 || evs[len(evs)-1].Status != install.StatusComplete {
		t.Fatalf("events %+v close %d", evs, code)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Status] = true
	}
	for _, st := range []string{install.StatusBenchmarking, install.StatusComplete} {
		if !seen[st] {
			t.Errorf("no %s event in %+v", st, evs)
		}
	}
	m, err := e.db.GetModel(ctx, "org/job-GGUF:Q4_0")
	if err != nil || m.Status != registry.StatusTested || m.ThroughputTokensPerSec != 40 {
		t.Errorf("registry row %+v, %v; want tested at 40 tok/s", m, err)
	}
}

// TestWebSocketWithoutJob: with no job, the registry's state is sent; with no
// row either, the stream closes with a reason.
func TestWebSocketWithoutJob(t *testing.T) {
	e := newEnv(t, 0, Config{})
	e.srv.firstEventWait = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range []registry.Model{
		{ModelID: "org/done-GGUF:Q4_0", Status: registry.StatusTested},
		{ModelID: "org/bad-GGUF:Q4_0", Status: registry.StatusFailed, StatusReason: "checksum mismatch"},
	} {
		if _, err := e.db.UpsertModel(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	evs, code, _ := readUntilClose(ctx, dialWS(t, ctx, e, "org%2Fdone-GGUF:Q4_0"))
	if len(evs) != 1 || evs[0].Status != install.StatusComplete || evs[0].Progress != 100 || code != websocket.StatusNormalClosure {
		t.Errorf("tested model: %+v close %d, want one complete event", evs, code)
	}
	evs, _, _ = readUntilClose(ctx, dialWS(t, ctx, e, "org%2Fbad-GGUF:Q4_0"))
	if len(evs) != 1 || evs[0].Status != install.StatusFailed || evs[0].Error != "checksum mismatch" {
		t.Errorf("failed model: %+v, want one failed event with the reason", evs)
	}
	evs, code, reason := readUntilClose(ctx, dialWS(t, ctx, e, "org%2Fnever-GGUF:Q4_0"))
	if len(evs) != 0 || code != closeNoJob || !strings.Contains(reason, "no install job") {
		t.Errorf("unknown model: %+v close %d %q, want close %d with a reason", evs, code, reason, closeNoJob)
	}
}

func TestWebSocketCrossOriginRefused(t *testing.T) {
	e := newEnv(t, 0, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.inst.Bus().Publish(install.Event{ModelID: "org/x-GGUF:Q4_0", Status: install.StatusDownloading})
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws/model-install/org%2Fx-GGUF:Q4_0"
	_, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil {
		t.Fatal("cross-origin WebSocket was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin WebSocket: %v, want 403", resp)
	}
}
