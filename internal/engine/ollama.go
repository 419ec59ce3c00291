package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Ollama uses the server at OLLAMA_HOST (or the default 127.0.0.1:11434) when it
// answers, and otherwise starts `ollama serve` on a free loopback port with its own
// model directory and log file. The model is imported from the GGUF file.
type Ollama struct {
	// Host overrides OLLAMA_HOST.
	Host string
	// Binary overrides the ollama executable (default: PATH, then
	// ~/.cache/fitbench/tools/bin/ollama).
	Binary string
	// AlwaysStart skips connecting to a running server (benchmarks that need their
	// own OLLAMA_NUM_PARALLEL).
	AlwaysStart bool
	// ModelsDir is OLLAMA_MODELS for a server fitbench starts; default a directory
	// next to the log.
	ModelsDir string
	// Env is extra environment for a server fitbench starts.
	Env []string
	// Log returns the log of a server fitbench connects to but did not start (so
	// memory can still be read from its load lines); optional.
	Log func() string
	// UseOpenAI makes Chat use /v1/chat/completions instead of the native /api/chat
	// (which reports eval_count/eval_duration per request).
	UseOpenAI bool
	Client    *http.Client
}

func (o *Ollama) Name() string { return "ollama" }

// ollamaHost normalises an OLLAMA_HOST value ("host", "host:port", "http://host:port").
func ollamaHost(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return "http://127.0.0.1:11434"
	}
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return "http://127.0.0.1:11434"
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, "11434"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port)
}

// reachable says whether an Ollama server answers GET /api/version at host.
func ollamaReachable(ctx context.Context, c *http.Client, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/api/version", nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ollamaVersion asks GET /api/version ("" when it does not answer).
func ollamaVersion(ctx context.Context, c *http.Client, host string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/api/version", nil)
	if err != nil {
		return ""
	}
	resp, err := c.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct {
		Version string `json:"version"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&v) != nil {
		return ""
	}
	return v.Version
}

// ToolsOllama is where scripts/build-ollama.sh (and `make run` when no engine
// is found) puts the CPU Ollama the project builds.
func ToolsOllama() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "fitbench", "tools", "bin", "ollama")
}

// ollamaBinary finds the ollama executable: PATH first, then the fitbench tools cache.
func ollamaBinary() string {
	if p, err := exec.LookPath("ollama"); err == nil {
		return p
	}
	if p := ToolsOllama(); p != "" {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

var ollamaInstallHint = "install Ollama from https://ollama.com/download, or build the CPU Ollama with scripts/build-ollama.sh (make run does it when no engine is found)"

// Start connects or starts a server, imports the model and loads it with the settings.
func (o *Ollama) Start(ctx context.Context, s Settings) (Instance, error) {
	if s.ModelPath == "" {
		return nil, fmt.Errorf("ollama: no model file given")
	}
	s.Ctx = OllamaCtx(s)
	c := o.Client
	if c == nil {
		c = &http.Client{}
	}
	sctx, cancel := context.WithTimeout(ctx, s.startTimeout())
	defer cancel()
	inst := &ollamaInstance{client: c, native: !o.UseOpenAI, settings: s, logFunc: o.Log}
	host := o.Host
	if host == "" {
		host = os.Getenv("OLLAMA_HOST")
	}
	host = ollamaHost(host)
	if !o.AlwaysStart && ollamaReachable(sctx, c, host) {
		inst.host = host
		inst.parallel = s.Parallel
	} else {
		if err := o.startServer(ctx, sctx, s, inst); err != nil {
			return nil, err
		}
	}
	if inst.parallel <= 0 {
		inst.parallel = 1
	}
	inst.version = ollamaVersion(sctx, c, inst.host)
	inst.name = OllamaName(s.ModelID)
	if _, err := importGGUF(sctx, c, inst.host, s.ModelPath, s.ProjectorPath, inst.name); err != nil {
		inst.Stop(context.Background())
		return nil, &LoadError{Engine: "ollama", Model: s.ModelPath, Err: err}
	}
	if err := inst.load(sctx); err != nil {
		inst.Stop(context.Background())
		return nil, &LoadError{Engine: "ollama", Model: s.ModelPath, Err: err}
	}
	return inst, nil
}

// startServer runs `ollama serve` on a free port; startCtx bounds readiness, ctx the lifetime.
func (o *Ollama) startServer(ctx, startCtx context.Context, s Settings, inst *ollamaInstance) error {
	bin := o.Binary
	if bin == "" {
		bin = ollamaBinary()
	}
	if bin == "" {
		return &NotAvailableError{Engine: "ollama", Msg: "no server answers at OLLAMA_HOST and no ollama binary was found", Hint: ollamaInstallHint}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	dir := s.LogDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "fitbench-ollama-"); err != nil {
			return fmt.Errorf("ollama log directory: %w", err)
		}
	}
	models := o.ModelsDir
	if models == "" {
		models = filepath.Join(dir, "ollama-models")
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := []string{"OLLAMA_HOST=" + addr, "OLLAMA_MODELS=" + models, "OLLAMA_KEEP_ALIVE=-1"}
	par := s.Parallel
	if par > 0 {
		env = append(env, "OLLAMA_NUM_PARALLEL="+strconv.Itoa(par))
	} else {
		par = 1
	}
	if ct := strings.ToLower(s.CacheType); ct != "" {
		// The cache type is a server setting (envconfig.KvCacheType); a quantized
		// type is ignored unless flash attention is enabled (llm/server.go).
		env = append(env, "OLLAMA_KV_CACHE_TYPE="+ct)
		if ct != "f16" {
			env = append(env, "OLLAMA_FLASH_ATTENTION=1")
		}
	}
	env = append(env, o.Env...)
	logPath := filepath.Join(dir, fmt.Sprintf("ollama-%d.log", port))
	p, err := startProc(ctx, bin, []string{"serve"}, env, logPath)
	if err != nil {
		return err
	}
	inst.proc, inst.host, inst.parallel, inst.binary = p, "http://"+addr, par, bin
	inst.logFunc = func() string { s, _ := p.readLog(); return s }
	inst.serverEnv = env
	if err := waitReady(startCtx, inst.host+"/api/version", p); err != nil {
		p.stop(context.Background())
		return fmt.Errorf("ollama serve: %w", err)
	}
	return nil
}
