package archtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// Case is one cell of the matrix: a synth preset loaded with num_ctx Context
// under OLLAMA_NUM_PARALLEL=Parallel.
type Case struct {
	Preset   string `json:"preset"`
	Context  int    `json:"context"`
	Parallel int    `json:"parallel"`
}

// Name is "preset/ctx2048/par1".
func (c Case) Name() string { return fmt.Sprintf("%s/ctx%d/par%d", c.Preset, c.Context, c.Parallel) }

// Contexts and Parallels span the matrix.
var (
	Contexts  = []int{2048, 8192}
	Parallels = []int{1, 2}
)

// MatrixPresets are the architectures of the matrix (issue 10 item 6).
var MatrixPresets = []string{"llama-128k", "qwen3-tied", "qwen3", "qwen3moe", "gemma2", "gemma3", "gptoss",
	"deepseek2-lite", "deepseek2-v3", "mistral3", "phi3", "lfm2", "granitehybrid", "nemotron_h"}

// Cases is the whole matrix, ordered by parallel so one server per parallel
// setting serves all its cases.
func Cases() []Case {
	var out []Case
	for _, par := range Parallels {
		for _, p := range MatrixPresets {
			for _, c := range Contexts {
				out = append(out, Case{Preset: p, Context: c, Parallel: par})
			}
		}
	}
	return out
}

// Model is a written preset: its file and header summary.
type Model struct {
	Preset  string
	Spec    synth.Spec
	Path    string
	Summary gguf.Summary
}

// AttnLayer says whether layer i of the model holds attention KV.
func (m Model) AttnLayer(i int) bool { return m.Spec.AttentionLayer(i) }

// WriteModel writes a preset into dir, reusing a file written before from the
// same Spec (the name carries a hash of the Spec).
func WriteModel(dir, preset string) (Model, error) {
	spec, err := synth.Preset(preset)
	if err != nil {
		return Model{}, err
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s %#v", synthVersion, spec)))
	base := preset + "-" + hex.EncodeToString(h[:6])
	path := filepath.Join(dir, base+".gguf")
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Model{}, err
		}
		tmp, err := os.MkdirTemp(dir, "w-")
		if err != nil {
			return Model{}, err
		}
		defer os.RemoveAll(tmp)
		if _, err := synth.Write(tmp, base, spec); err != nil {
			return Model{}, fmt.Errorf("write %s: %w", preset, err)
		}
		if err := os.Rename(filepath.Join(tmp, base+".gguf"), path); err != nil {
			return Model{}, err
		}
	}
	f, err := gguf.ReadFile(path)
	if err != nil {
		return Model{}, fmt.Errorf("read %s: %w", preset, err)
	}
	sum, err := f.Summary()
	if err != nil {
		return Model{}, fmt.Errorf("summary %s: %w", preset, err)
	}
	return Model{Preset: preset, Spec: spec, Path: path, Summary: sum}, nil
}

// synthVersion changes when synth's output for an unchanged Spec changes, so
// cached files are rewritten.
const synthVersion = "synth-2"

// CacheDir is where WriteModel keeps the generated models between runs:
// $FITBENCH_ARCHTEST_CACHE, else the user cache dir.
func CacheDir() string {
	if d := os.Getenv("FITBENCH_ARCHTEST_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "fitbench", "archtest")
	}
	return filepath.Join(os.TempDir(), "fitbench-archtest")
}

// Lab runs cases in a real Ollama: one `ollama serve` at a time (restarted
// when the parallel setting changes), each model imported once per server,
// every load unloaded right after (keep_alive 0).
type Lab struct {
	bin, scratch, cache string

	mu       sync.Mutex
	srv      *ollamatest.Server
	parallel int
	imported map[string]bool
	models   map[string]Model
}

// NewLab prepares a lab; scratch holds the servers' model stores.
func NewLab(bin, scratch string) *Lab {
	return &Lab{bin: bin, scratch: scratch, cache: CacheDir(), models: map[string]Model{}}
}

// Close stops the server.
func (l *Lab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil {
		l.srv.Stop()
		l.srv = nil
	}
}

// Model returns (writing it on first use) the preset's model.
func (l *Lab) Model(preset string) (Model, error) {
	if m, ok := l.models[preset]; ok {
		return m, nil
	}
	m, err := WriteModel(l.cache, preset)
	if err == nil {
		l.models[preset] = m
	}
	return m, err
}

// Result is one measured case: the engine's truth and the load's log.
type Result struct {
	Case  Case
	Model Model
	Truth Truth
	Log   string
}

// Measure loads the case's model and reads the engine's numbers.
func (l *Lab) Measure(ctx context.Context, c Case) (Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.Model(c.Preset)
	if err != nil {
		return Result{}, err
	}
	if err := l.server(c.Parallel); err != nil {
		return Result{}, err
	}
	name := "fb-" + c.Preset
	if !l.imported[name] {
		if err := importModel(ctx, l.srv.URL, name, m.Path); err != nil {
			return Result{}, err
		}
		l.imported[name] = true
	}
	off := len(l.srv.Log())
	if err := generate(ctx, l.srv.URL, name, c.Context); err != nil {
		return Result{}, fmt.Errorf("%s: %w\n%s", c.Name(), err, tail(l.srv.LogSince(off), 3000))
	}
	// keep_alive 0 unloads after the answer; wait for it so the next load's
	// lines are its own.
	if err := l.waitUnloaded(ctx); err != nil {
		return Result{}, err
	}
	log := l.srv.LogSince(off)
	t, err := ParseLog(log, m.AttnLayer)
	if err != nil {
		return Result{Case: c, Model: m, Log: log}, fmt.Errorf("%s: %w\n%s", c.Name(), err, tail(log, 3000))
	}
	return Result{Case: c, Model: m, Truth: t, Log: log}, nil
}

func (l *Lab) server(parallel int) error {
	if l.srv != nil && l.parallel == parallel {
		return nil
	}
	if l.srv != nil {
		l.srv.Stop()
		l.srv = nil
	}
	dir := filepath.Join(l.scratch, "par"+strconv.Itoa(parallel))
	s, err := ollamatest.StartProcess(l.bin, ollamatest.Options{Env: []string{
		"OLLAMA_DEBUG=1", "OLLAMA_NUM_PARALLEL=" + strconv.Itoa(parallel), "OLLAMA_MAX_LOADED_MODELS=1",
	}}, dir)
	if err != nil {
		return err
	}
	l.srv, l.parallel, l.imported = s, parallel, map[string]bool{}
	return nil
}

func (l *Lab) waitUnloaded(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ps struct {
			Models []json.RawMessage `json:"models"`
		}
		if err := Call(ctx, http.MethodGet, l.srv.URL+"/api/ps", nil, &ps); err != nil {
			return err
		}
		if len(ps.Models) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("archtest: model still loaded 30 s after keep_alive 0")
}

func importModel(ctx context.Context, base, name, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	h := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(h[:])
	if err := Call(ctx, http.MethodPost, base+"/api/blobs/"+digest, bytes.NewReader(data), nil); err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	body, _ := json.Marshal(map[string]any{"model": name, "files": map[string]string{filepath.Base(path): digest}, "stream": false})
	if err := Call(ctx, http.MethodPost, base+"/api/create", bytes.NewReader(body), nil); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}

// generate loads the model with num_ctx and decodes one token (proving the
// random-weight model runs), then lets it unload.
func generate(ctx context.Context, base, name string, numCtx int) error {
	body, _ := json.Marshal(map[string]any{"model": name, "prompt": "hello", "stream": false, "keep_alive": 0,
		"options": map[string]any{"num_ctx": numCtx, "num_predict": 1, "temperature": 0, "seed": 1}})
	var out struct {
		EvalCount int `json:"eval_count"`
	}
	return Call(ctx, http.MethodPost, base+"/api/generate", bytes.NewReader(body), &out)
}

// Call does one JSON request to an engine's API and decodes a 2xx answer
// into out (nil: discard); anything else is an error with the body.
func Call(ctx context.Context, method, url string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
