package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
)

type ollamaInstance struct {
	client    *http.Client
	host      string // http://host:port
	name      string
	native    bool
	settings  Settings
	parallel  int
	proc      *proc // nil when connected to a server fitbench did not start
	logFunc   func() string
	serverEnv []string
	binary    string // the executable fitbench started ("" when connected)
	version   string // GET /api/version
}

func (i *ollamaInstance) Engine() string  { return "ollama" }
func (i *ollamaInstance) BaseURL() string { return i.host + "/v1" }
func (i *ollamaInstance) Model() string   { return i.name }
func (i *ollamaInstance) Parallel() int   { return i.parallel }

// Pid is the pid of the `ollama serve` fitbench started, 0 when it only connected.
func (i *ollamaInstance) Pid() int {
	if i.proc == nil {
		return 0
	}
	return i.proc.Pid()
}

// options are the per-request model options; Ollama reloads the model when load
// options (num_gpu, num_ctx, num_thread) change, so every request sends the same.
func (i *ollamaInstance) options() map[string]any {
	s := i.settings
	o := map[string]any{"temperature": 0, "seed": s.Seed}
	if s.GPULayers >= 0 {
		o["num_gpu"] = s.GPULayers
	}
	if s.Ctx > 0 {
		o["num_ctx"] = s.Ctx
	}
	if s.Threads > 0 {
		o["num_thread"] = s.Threads
	}
	if s.NBatch > 0 {
		o["num_batch"] = s.NBatch
	}
	return o
}

func (i *ollamaInstance) Flags() map[string]string {
	f := map[string]string{"host": i.host, "model": i.name, "api": "native /api/chat"}
	if !i.native {
		f["api"] = "openai /v1/chat/completions"
	}
	for k, v := range i.options() {
		f[k] = fmt.Sprint(v)
	}
	for _, e := range i.serverEnv {
		if k, v, ok := strings.Cut(e, "="); ok && k != "OLLAMA_HOST" {
			f[k] = v
		}
	}
	if i.proc == nil {
		f["OLLAMA_NUM_PARALLEL"] = "server default (connected)"
		f["OLLAMA_KV_CACHE_TYPE"] = "server default (connected)"
	}
	return f
}

// Describe says which Ollama ran: its version, the binary fitbench started,
// whether that is the project's CPU build, and which of Ollama's two engines
// loaded the model (from the load log).
func (i *ollamaInstance) Describe() Info {
	inf := Info{Engine: "ollama", Version: i.version, Binary: i.binary}
	if i.binary == "" {
		inf.Notes = append(inf.Notes, "connected to a running Ollama server: its build is not known to fitbench")
	} else if tools := ToolsOllama(); tools != "" && i.binary == tools {
		inf.Build = ToolsBuild
		inf.CPUOnly = true
		// A module-proxy build answers /api/version with 0.0.0; the build script
		// records the version it built beside the binary.
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(tools), ".ollama-version")); err == nil && (inf.Version == "" || inf.Version == "0.0.0") {
			inf.Version = strings.TrimPrefix(strings.TrimSpace(string(b)), "v")
		}
	}
	if i.logFunc != nil {
		text := i.logFunc()
		inf.Path = llamalog.Parse(text).Runner
		if cpu, ok := cpuOnlyCompute(text); ok {
			inf.CPUOnly = inf.CPUOnly || cpu
		}
	}
	return inf
}

// cpuOnlyCompute reads Ollama's "inference compute" lines (discover/types.go):
// true when every device it found is library=cpu.
func cpuOnlyCompute(log string) (cpu, found bool) {
	cpu = true
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="inference compute"`) {
			continue
		}
		found = true
		if !strings.Contains(line, "library=cpu") {
			cpu = false
		}
	}
	return cpu && found, found
}

// load asks Ollama to load the model now (an empty generate), so load time and load
// errors are not charged to the first benchmark request.
func (i *ollamaInstance) load(ctx context.Context) error {
	body := map[string]any{"model": i.name, "prompt": "", "stream": false, "keep_alive": "30m", "options": i.options()}
	resp, err := postJSON(ctx, i.client, i.host+"/api/generate", "", body)
	if err != nil {
		if i.proc != nil {
			return fmt.Errorf("%w; log tail:\n%s", err, i.proc.logTail())
		}
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

type ollamaChunk struct {
	Message struct {
		Content string `json:"content"`
	} `json:"message"`
	Done               bool   `json:"done"`
	DoneReason         string `json:"done_reason"`
	PromptEvalCount    int    `json:"prompt_eval_count"`
	PromptEvalDuration int64  `json:"prompt_eval_duration"`
	EvalCount          int    `json:"eval_count"`
	EvalDuration       int64  `json:"eval_duration"`
	Error              string `json:"error"`
}

// Chat uses the native streaming /api/chat, whose last line carries the engine's
// own eval counts and durations, unless UseOpenAI was set.
func (i *ollamaInstance) Chat(ctx context.Context, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	if !i.native {
		return chatOpenAI(ctx, i.client, i.BaseURL(), "", i.name, r, onDelta)
	}
	opts := i.options()
	opts["temperature"] = r.Temperature
	opts["seed"] = r.Seed
	if r.MaxTokens > 0 {
		opts["num_predict"] = r.MaxTokens
	}
	body := map[string]any{"model": i.name, "messages": r.Messages, "stream": true, "options": opts, "keep_alive": "30m"}
	url := i.host + "/api/chat"
	resp, err := postJSON(ctx, i.client, url, "", body)
	if err != nil {
		return ChatResult{}, err
	}
	defer resp.Body.Close()
	var res ChatResult
	var text strings.Builder
	var rep repeatTracker
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var ch ollamaChunk
		if err := json.Unmarshal(line, &ch); err != nil {
			return res, fmt.Errorf("%s: bad stream line: %w", url, err)
		}
		if ch.Error != "" {
			return res, fmt.Errorf("%s: engine error: %s", url, ch.Error)
		}
		if ch.Message.Content != "" {
			rep.add(ch.Message.Content)
			text.WriteString(ch.Message.Content)
			onDelta(ch.Message.Content)
		}
		if ch.Done {
			res.Text = text.String()
			res.FinishReason = ch.DoneReason
			res.PromptTokens, res.OutputTokens = ch.PromptEvalCount, ch.EvalCount
			res.Timing = &EngineTiming{
				PromptTokens: ch.PromptEvalCount, PromptDuration: time.Duration(ch.PromptEvalDuration),
				EvalTokens: ch.EvalCount, EvalDuration: time.Duration(ch.EvalDuration),
			}
			return res, nil
		}
	}
	res.Text = text.String()
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("%s: %w: %w", url, ErrStreamCut, err)
	}
	if rep.hitLimit() {
		// Ollama's llm/server.go Completion ends an answer whose token (compared
		// after TrimSpace) repeated more than 30 times by returning without its
		// final "done" line: the answer is complete, only its timings are lost.
		res.FinishReason = FinishRepeatLimit
		res.OutputTokens = rep.pieces
		return res, nil
	}
	return res, fmt.Errorf("%s: %w", url, ErrStreamCut)
}

// ollamaRepeatLimit is llm/server.go's "tokenRepeat > 30": the 32nd equal
// token is dropped, so a client sees 31 equal pieces in a row, then the end.
const ollamaRepeatLimit = 31

// repeatTracker follows the run of equal streamed pieces the way Ollama does.
type repeatTracker struct {
	last   string
	run    int
	pieces int
}

func (r *repeatTracker) add(piece string) {
	r.pieces++
	if p := strings.TrimSpace(piece); p == r.last && r.pieces > 1 {
		r.run++
	} else {
		r.last, r.run = p, 1
	}
}

func (r *repeatTracker) hitLimit() bool { return r.run >= ollamaRepeatLimit }

// Memory reads /api/ps (size, size_vram) and, when the server log is known, the
// llama.cpp buffer lines of the last load.
func (i *ollamaInstance) Memory(ctx context.Context) (MemoryReport, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.host+"/api/ps", nil)
	if err != nil {
		return MemoryReport{}, err
	}
	resp, err := i.client.Do(req)
	if err != nil {
		return MemoryReport{}, fmt.Errorf("ollama /api/ps: %w", err)
	}
	defer resp.Body.Close()
	var ps struct {
		Models []struct {
			Name     string `json:"name"`
			Model    string `json:"model"`
			Size     int64  `json:"size"`
			SizeVRAM int64  `json:"size_vram"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil {
		return MemoryReport{}, fmt.Errorf("ollama /api/ps: %w", err)
	}
	rep := MemoryReport{Source: "ollama /api/ps"}
	found := false
	for _, m := range ps.Models {
		if m.Name == i.name || m.Model == i.name {
			rep.GPUBytes, rep.CPUBytes, found = m.SizeVRAM, m.Size-m.SizeVRAM, true
		}
	}
	if !found {
		return rep, fmt.Errorf("ollama /api/ps: model %s is not loaded", i.name)
	}
	if i.logFunc != nil {
		if lm := llamalog.Parse(i.logFunc()); len(lm.Entries) > 0 {
			rep.Log = &lm
			rep.Source += " + load log"
		}
	}
	return rep, nil
}

func (i *ollamaInstance) Done() <-chan struct{} {
	if i.proc == nil {
		return nil
	}
	return i.proc.done
}

func (i *ollamaInstance) Err() error {
	if i.proc == nil {
		return nil
	}
	select {
	case <-i.proc.done:
		return i.proc.err
	default:
		return nil
	}
}

// Stop unloads the model from a server fitbench connected to, or stops the server it started.
func (i *ollamaInstance) Stop(ctx context.Context) error {
	if i.proc != nil {
		return i.proc.stop(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := postJSON(ctx, i.client, i.host+"/api/generate", "", map[string]any{"model": i.name, "keep_alive": 0, "stream": false})
	if err != nil {
		return fmt.Errorf("ollama unload %s: %w", i.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}
