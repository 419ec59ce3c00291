package server

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fitbench/fitbench/internal/install"
)

// TestServeShutdown: cancelling the context stops the server and ends open
// progress streams instead of waiting for them forever.
func TestServeShutdown(t *testing.T) {
	e := newEnv(t, 0, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	e.inst.Bus().Publish(install.Event{ModelID: "org/s-GGUF:Q4_0", Status: install.StatusDownloading})
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(wctx, "ws://"+ln.Addr().String()+"/ws/model-install/org%2Fs-GGUF:Q4_0",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(wctx); err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
	case <-wctx.Done():
		t.Fatal("Serve did not return after the context ended")
	}
	if _, _, err := c.Read(wctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("open stream after shutdown: %v, want going-away close", err)
	}
}
