package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

// Timing of the progress stream. firstEventWait covers the moment between a
// 202 and the job's first event; writeTimeout drops a client that stopped
// reading (the bus has already skipped events for it, so the job never waits).
const (
	firstEventWait = 3 * time.Second
	writeTimeout   = 10 * time.Second
	pingInterval   = 30 * time.Second
)

// closeNoJob is the close code for "nothing to follow" (4000–4999 are for
// applications); the reason says what to do.
const closeNoJob websocket.StatusCode = 4404

// handleProgressWS relays a job's progress events as JSON messages (exactly
// install.Event). A late subscriber gets the current state first; the stream
// ends after complete or failed. Leaving early only unsubscribes.
func (s *Server) handleProgressWS(w http.ResponseWriter, r *http.Request) {
	modelID := strings.Trim(r.PathValue("model_id"), "/")
	if modelID == "" || len(modelID) > 512 {
		s.writeError(w, r, badRequest("a model id is required", "connect to /ws/model-install/{model_id}"))
		return
	}
	if s.deps.Installer == nil {
		s.writeError(w, r, unavailable("install progress"))
		return
	}
	// The guard middleware has already checked Origin; Accept checks it again
	// (same host) as a second line of defence.
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("websocket upgrade refused", slog.String("model_id", modelID), slog.String("error", err.Error()))
		return
	}
	defer c.CloseNow()
	// We never read; CloseRead notices the client leaving. It gets its own
	// context: a cancelled one would tear the connection down without a close
	// frame, and on shutdown we want to say "going away" first.
	ctx := c.CloseRead(context.Background())
	shutdown := r.Context().Done()

	bus := s.deps.Installer.Bus()
	events, cancel := bus.Subscribe(modelID)
	defer cancel()

	if _, ok := bus.Last(modelID); !ok {
		if ev, found := s.registryState(r.Context(), modelID); found {
			if err := s.send(ctx, c, ev); err != nil || ev.Final() {
				c.Close(websocket.StatusNormalClosure, ev.Status)
				return
			}
		} else {
			// No state yet: a job may be starting right now; wait briefly for it.
			t := time.NewTimer(s.firstEventWait)
			defer t.Stop()
			select {
			case ev, ok := <-events:
				if !ok {
					c.Close(websocket.StatusNormalClosure, "stream ended")
					return
				}
				if err := s.send(ctx, c, ev); err != nil || ev.Final() {
					c.Close(websocket.StatusNormalClosure, ev.Status)
					return
				}
			case <-t.C:
				c.Close(closeNoJob, "no install job or registered model "+trimReason(modelID))
				return
			case <-ctx.Done():
				return
			case <-shutdown:
				c.Close(websocket.StatusGoingAway, "server shutting down")
				return
			}
		}
	}
	s.relay(ctx, shutdown, c, modelID, events)
}

// relay copies events to the client until the final one, the client leaving,
// or the server shutting down.
func (s *Server) relay(ctx context.Context, shutdown <-chan struct{}, c *websocket.Conn, modelID string, events <-chan install.Event) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				c.Close(websocket.StatusNormalClosure, "stream ended")
				return
			}
			if err := s.send(ctx, c, ev); err != nil {
				s.log.Info("websocket client gone", slog.String("model_id", modelID), slog.String("error", err.Error()))
				return
			}
			if ev.Final() {
				c.Close(websocket.StatusNormalClosure, ev.Status)
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-ctx.Done(): // the client left
			return
		case <-shutdown:
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}

func (s *Server) send(ctx context.Context, c *websocket.Conn, ev install.Event) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return wsjson.Write(wctx, c, ev)
}

// registryState turns a registered model with no live job into one event, so
// a page reopened after the job (or after a restart) still learns the outcome.
func (s *Server) registryState(ctx context.Context, modelID string) (install.Event, bool) {
	m, err := s.deps.Registry.GetModel(ctx, modelID)
	if err != nil {
		if !errors.Is(err, registry.ErrNotFound) {
			s.log.Warn("registry lookup for progress", slog.String("model_id", modelID), slog.String("error", err.Error()))
		}
		return install.Event{}, false
	}
	ev := install.Event{ModelID: m.ModelID, Status: install.StatusComplete, Progress: 100,
		Message: "installed (status " + m.Status + ")"}
	switch m.Status {
	case registry.StatusFailed:
		ev.Status, ev.Progress, ev.Message = install.StatusFailed, 0, ""
		ev.Error = m.StatusReason
		if ev.Error == "" {
			ev.Error = "the install failed"
		}
	case registry.StatusDownloading:
		ev.Status, ev.Progress, ev.Message = install.StatusDownloading, 0, "waiting for progress"
	case registry.StatusBenchmarking:
		ev.Status, ev.Progress, ev.Message = install.StatusBenchmarking, 0, "waiting for progress"
	}
	return ev, true
}

func trimReason(s string) string {
	// Close reasons are limited to 123 bytes.
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
