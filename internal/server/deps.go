// Package server is fitbench's HTTP face: the REST API, the WebSocket progress
// stream and the embedded pages. It owns no domain logic; everything it does goes
// through the small interfaces below, so cmd/fitbench wires in the real pipeline
// and tests wire in simple stand-ins.
package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/fitbench/fitbench/internal/batch"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

// Analyzer turns pasted input into an analysis report. The report is returned as
// any because the server only relays it as JSON; its shape belongs to the
// estimator (success, model_id, memory{…}, performance{…}, variants, …).
type Analyzer interface {
	Analyze(ctx context.Context, req AnalyzeRequest) (any, error)
}

// AnalyzeRequest is the decoded body of POST /api/models/analyze.
type AnalyzeRequest struct {
	Content string  `json:"content"`
	Quant   string  `json:"quant,omitempty"`
	GPU     string  `json:"gpu,omitempty"`
	VRAMGB  float64 `json:"vram_gb,omitempty"`
	Ctx     int     `json:"ctx,omitempty"`
	Engine  string  `json:"engine,omitempty"`
	CPUOnly bool    `json:"cpu_only,omitempty"`
}

// Installer starts install and benchmark jobs and exposes their progress bus.
// Install must be idempotent: asking again for a model already installing
// returns the running job. Implementations should publish the job's first event
// before returning, so a WebSocket opened right after the 202 sees it at once.
type Installer interface {
	Install(ctx context.Context, req InstallRequest) (Job, error)
	Benchmark(ctx context.Context, modelID string, samples int) (Job, error)
	Bus() *install.Bus
}

// InstallRequest is the decoded body of POST /api/models/install.
type InstallRequest struct {
	ModelID   string `json:"model_id"`
	GGUFFile  string `json:"gguf_file,omitempty"`
	Quant     string `json:"quant,omitempty"`
	Benchmark bool   `json:"benchmark"`
	Samples   int    `json:"samples,omitempty"`
}

// Job is what a 202 answer carries: enough for a client to follow the job.
// WebSocket is filled in by the server when the Installer leaves it empty.
type Job struct {
	ModelID   string `json:"model_id"`
	Status    string `json:"status"`
	WebSocket string `json:"websocket"`
	// Existing is true when the request joined a job that was already running.
	Existing bool `json:"existing,omitempty"`
}

// Deps are the parts the server relays to. Registry is required; Analyzer,
// Installer and Hardware may be nil, in which case their routes answer 503.
type Deps struct {
	Analyzer  Analyzer
	Installer Installer
	Registry  Registry
	// Hardware reports what was detected and what will be assumed (JSON-able).
	Hardware func(ctx context.Context) (any, error)
	// Batch runs batch jobs (/api/batch, /ws/batch/{id}); nil answers 503.
	Batch *batch.Manager
	// Logger receives access and error logs; when nil the server logs to stderr
	// and, when Config.DataDir is set, to <DataDir>/logs/api.log.
	Logger *slog.Logger
}

// Config is the server's own configuration (everything else comes in Deps).
type Config struct {
	// Addr is the listen address; default 127.0.0.1:4080.
	Addr string
	// Token, when set, is required on every request except /healthz (Bearer
	// header, ?token= once — which sets a cookie — or that cookie). New refuses a
	// non-loopback Addr without a token.
	Token string
	// DataDir holds logs/api.log.
	DataDir string
	// AllowedHosts are extra Host header values (host or host:port) accepted
	// besides the loopback names, e.g. the machine's LAN name when binding 0.0.0.0.
	AllowedHosts []string
	// BodyTimeout bounds reading a request body (0 = 15 s): 300 connections
	// sending bodies at 1 byte/s were all held open (issue 14.6).
	BodyTimeout time.Duration
}

// Registry is the part of *registry.DB the server reads (and deletes from).
type Registry interface {
	ListModels(ctx context.Context) ([]*registry.Model, error)
	GetModel(ctx context.Context, idOrModelID string) (*registry.Model, error)
	DeleteModel(ctx context.Context, modelID string) error
	ListRuns(ctx context.Context, modelID string) ([]*registry.BenchmarkRun, error)
	GetRun(ctx context.Context, id int64) (*registry.BenchmarkRun, error)
	ListOutputs(ctx context.Context, runID int64) ([]registry.Output, error)
}

// Remover is optionally implemented by the Installer: removing a model there
// also deletes its files. Without it, DELETE removes only the registry row.
type Remover interface {
	Remove(ctx context.Context, modelID string) error
}
