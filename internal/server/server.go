package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// DefaultAddr is where `fitbench serve` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:4080"

// Server holds the configuration and dependencies every handler method uses.
type Server struct {
	cfg          Config
	deps         Deps
	log          *slog.Logger
	logFile      io.Closer
	allowedHosts []string
	handler      http.Handler
	static       *staticFiles
	// firstEventWait: how long a progress stream waits for a job that has
	// neither state nor registry row (tests shorten it).
	firstEventWait time.Duration
	models         modelListCache // GET /api/models, per registry version
	mem            memReleaser    // returns an analysis's memory to the OS
}

// New checks the configuration and builds the handler. It refuses to serve a
// non-loopback address without a token: anyone on the network could otherwise
// install models and fill the disk.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if needsToken(cfg.Addr) && cfg.Token == "" {
		return nil, fmt.Errorf("serving on %s reaches other machines: set a token (--token) or bind to 127.0.0.1", cfg.Addr)
	}
	if deps.Registry == nil {
		return nil, errors.New("server: a registry is required")
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, firstEventWait: firstEventWait}
	if s.log == nil {
		lg, closer, err := NewLogger(cfg.DataDir, os.Stderr)
		if err != nil {
			return nil, err
		}
		s.log, s.logFile = lg, closer
	}
	s.allowedHosts = append(s.allowedHosts, cfg.AllowedHosts...)
	if host, _, err := net.SplitHostPort(cfg.Addr); err == nil && host != "" && !needsWildcard(host) {
		s.allowedHosts = append(s.allowedHosts, host)
	}
	st, err := newStaticFiles()
	if err != nil {
		return nil, err
	}
	s.static = st
	s.handler = s.accessLog(s.guard(s.routes()))
	return s, nil
}

func needsWildcard(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// NewLogger returns a JSON-lines logger writing to w and, when dataDir is set,
// appending to <dataDir>/logs/api.log. The closer closes that file.
func NewLogger(dataDir string, w io.Writer) (*slog.Logger, io.Closer, error) {
	if dataDir == "" {
		return slog.New(slog.NewTextHandler(w, nil)), io.NopCloser(nil), nil
	}
	dir := filepath.Join(dataDir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create log directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "api.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open api.log: %w", err)
	}
	return slog.New(slog.NewTextHandler(io.MultiWriter(w, f), nil)), f, nil
}

// routes lists every endpoint in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("POST /api/models/analyze", s.handleAnalyze)
	mux.HandleFunc("POST /api/models/install", s.handleInstall)
	mux.HandleFunc("GET /api/models", s.handleListModels)
	// Model ids contain "/" and ":"; the item routes take the numeric registry
	// id, a URL-escaped model id, or a plain one (suffixes are split off).
	mux.HandleFunc("GET /api/models/{id...}", s.handleModelGet)
	mux.HandleFunc("DELETE /api/models/{id...}", s.handleModelDelete)
	mux.HandleFunc("POST /api/models/{id...}", s.handleModelPost)
	mux.HandleFunc("GET /api/benchmarks/{run}/outputs", s.handleOutputs)
	mux.HandleFunc("GET /api/hardware", s.handleHardware)
	mux.HandleFunc("GET /ws/model-install/{model_id...}", s.handleProgressWS)
	mux.HandleFunc("POST /api/batch", s.handleBatchCreate)
	mux.HandleFunc("GET /api/batch", s.handleBatchList)
	mux.HandleFunc("GET /api/batch/{id}", s.handleBatchGet)
	mux.HandleFunc("POST /api/batch/{id}/{action}", s.handleBatchAction)
	mux.HandleFunc("GET /api/batch/{id}/{file}", s.handleBatchFile)
	mux.HandleFunc("GET /ws/batch/{id}", s.handleBatchWS)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &StatusError{Status: http.StatusNotFound, Msg: "no such API route: " + r.Method + " " + r.URL.Path})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/workbench.html", http.StatusFound)
	})
	mux.Handle("/", s.static) // GET and HEAD only; checked there
	return mux
}

// Handler is the complete HTTP handler (security checks included).
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe serves until ctx ends, then shuts down gracefully: requests in
// flight get a few seconds to finish; WebSocket streams are closed.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on a listener the caller opened (tests, port 0).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}
	s.log.Info("fitbench server listening", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.closeLog()
		return err
	case <-ctx.Done():
	}
	cancelBase() // ends WebSocket streams, which Shutdown does not track
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	<-errc
	s.log.Info("fitbench server stopped")
	s.closeLog()
	return err
}

func (s *Server) closeLog() {
	if s.logFile != nil {
		_ = s.logFile.Close()
	}
}

// accessLog logs one line per request. Only the path is logged, never the
// query, which may hold the token.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	})
}

// statusRecorder remembers the status; Unwrap keeps http.ResponseController
// (and so the WebSocket hijack) working through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "status": "ok"})
}
