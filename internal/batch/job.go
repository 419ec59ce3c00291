package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fitbench/fitbench/internal/flock"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fitbench/fitbench/internal/registry"
)

// JobsDir is where a data directory keeps batch jobs: batch/<id>/ holds the
// uploaded input (when uploaded), output.jsonl, errors.jsonl and the lock.
func JobsDir(dataDir string) string { return filepath.Join(dataDir, "batch") }

// Settings are a job's settings, stored with it (JSON) so a resume — by the
// CLI or a restarted server — runs it the same way.
type Settings struct {
	// Engine is the engine name (auto, ollama, llamacpp, vllm, openai); BaseURL
	// and Model name an OpenAI-compatible endpoint for "openai".
	Engine  string `json:"engine"`
	BaseURL string `json:"base_url,omitempty"`
	Model   string `json:"model,omitempty"`
	// Concurrency is the requests in flight; 0: the engine's parallel slots.
	Concurrency int `json:"concurrency,omitempty"`
	// MaxTokens caps every request's max_tokens (0: as each body says).
	MaxTokens int `json:"max_tokens,omitempty"`
	// Ctx is the context each request gets, in tokens, for the size check;
	// 0: read from the engine's flags.
	Ctx int `json:"ctx,omitempty"`
	// Parallel is the engine's parallel slots when fitbench starts it (0: as
	// the model's benchmark).
	Parallel        int     `json:"parallel,omitempty"`
	RequestTimeoutS float64 `json:"request_timeout_s,omitempty"`
	Retries         int     `json:"retries,omitempty"`
	// Flags are the engine flags actually used (filled when the job starts).
	Flags map[string]string `json:"flags,omitempty"`
	// Uploaded marks an input stored inside the job's directory.
	Uploaded bool `json:"uploaded,omitempty"`
}

// CreateOptions describe a new job.
type CreateOptions struct {
	DataDir  string
	ModelID  string // registry model id; "" for a bare endpoint
	Input    string // the input file
	Output   string // default batch/<id>/output.jsonl
	Errors   string // default batch/<id>/errors.jsonl
	Settings Settings
}

// Create indexes the input file and records the job (queued). A file with a
// duplicate custom_id, or that is not a readable regular file, is refused
// with an *InputError naming the line.
func Create(ctx context.Context, db *registry.DB, o CreateOptions) (*registry.BatchJob, error) {
	abs, err := filepath.Abs(o.Input)
	if err != nil {
		return nil, err
	}
	lines, st, err := Index(abs)
	if err != nil {
		return nil, err
	}
	settings, err := json.Marshal(o.Settings)
	if err != nil {
		return nil, err
	}
	j := &registry.BatchJob{ModelID: o.ModelID, Engine: o.Settings.Engine, InputPath: abs, InputSize: st.Size(),
		InputMTime: st.ModTime().UTC().Format(time.RFC3339Nano), OutputPath: o.Output, ErrorPath: o.Errors,
		Settings: settings}
	for _, p := range []*string{&j.OutputPath, &j.ErrorPath} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return nil, err
			}
			// A job owns its files from byte 0 (a resume cuts them back to
			// what it committed), so it never takes over a file with data.
			if st, err := os.Stat(*p); err == nil && (st.Size() > 0 || !st.Mode().IsRegular()) {
				return nil, &InputError{Path: *p, Msg: "already exists; give a new file for the job's results (nothing was changed)"}
			}
		}
	}
	if (j.OutputPath != "" && (j.OutputPath == j.ErrorPath || j.OutputPath == abs)) || j.ErrorPath == abs {
		return nil, &InputError{Path: abs, Msg: "output, error and input files must be three different files"}
	}
	err = db.CreateBatchJob(ctx, j, lines, func(id int64) (string, string, error) {
		dir := filepath.Join(JobsDir(o.DataDir), strconv.FormatInt(id, 10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", fmt.Errorf("batch: job directory: %w", err)
		}
		return filepath.Join(dir, "output.jsonl"), filepath.Join(dir, "errors.jsonl"), nil
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// ErrLocked means another process is running the job.
var ErrLocked = errors.New("the job is running in another fitbench process")

// Lock takes the job's lock (an flock in batch/<id>/job.lock), so a CLI and a
// server never run one job at once. It is released when the process dies.
func Lock(dataDir string, id int64) (unlock func(), err error) {
	dir := filepath.Join(JobsDir(dataDir), strconv.FormatInt(id, 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "job.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("batch: lock job %d: %w", id, err)
	}
	if err := flock.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, flock.ErrWouldBlock) {
			return nil, fmt.Errorf("batch job %d: %w", id, ErrLocked)
		}
		return nil, fmt.Errorf("batch: lock job %d: %w", id, err)
	}
	return func() { f.Close() }, nil
}

// Held reports whether some process holds the job's lock now.
func Held(dataDir string, id int64) bool {
	unlock, err := Lock(dataDir, id)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	unlock()
	return false
}

// ParseSettings reads a job's stored settings.
func ParseSettings(j *registry.BatchJob) Settings {
	var s Settings
	_ = json.Unmarshal(j.Settings, &s)
	return s
}
