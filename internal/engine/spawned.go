package engine

import (
	"context"
	"net/http"
	"sort"
	"strings"
)

// spawnedInstance is an OpenAI-compatible server process fitbench started
// (llama-server, vllm serve).
type spawnedInstance struct {
	engine   string
	base     string // http://127.0.0.1:PORT
	model    string
	flags    map[string]string
	parallel int
	proc     *proc
	client   *http.Client
	memory   func(ctx context.Context, i *spawnedInstance) (MemoryReport, error)
	binary   string
	notes    []string
	// metrics, when set, reads the engine's own counters (vLLM /metrics).
	metrics func(ctx context.Context) (EngineCounters, error)
}

// Describe names the engine and the binary fitbench started.
func (i *spawnedInstance) Describe() Info {
	return Info{Engine: i.engine, Binary: i.binary, Notes: i.notes}
}

func (i *spawnedInstance) Engine() string  { return i.engine }
func (i *spawnedInstance) BaseURL() string { return i.base + "/v1" }
func (i *spawnedInstance) Model() string   { return i.model }
func (i *spawnedInstance) Parallel() int   { return i.parallel }
func (i *spawnedInstance) Pid() int        { return i.proc.Pid() }
func (i *spawnedInstance) Flags() map[string]string {
	out := make(map[string]string, len(i.flags))
	for k, v := range i.flags {
		out[k] = v
	}
	return out
}
func (i *spawnedInstance) Chat(ctx context.Context, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	return chatOpenAI(ctx, i.client, i.BaseURL(), "", i.model, r, onDelta)
}
func (i *spawnedInstance) Memory(ctx context.Context) (MemoryReport, error) {
	if i.memory == nil {
		return MemoryReport{}, ErrNotMeasured
	}
	return i.memory(ctx, i)
}
func (i *spawnedInstance) Done() <-chan struct{} { return i.proc.done }
func (i *spawnedInstance) Err() error {
	select {
	case <-i.proc.done:
		return i.proc.err
	default:
		return nil
	}
}
func (i *spawnedInstance) Stop(ctx context.Context) error { return i.proc.stop(ctx) }

// argsToFlags records a command line as flag → value ("" for switches).
func argsToFlags(args []string) map[string]string {
	f := map[string]string{}
	for j := 0; j < len(args); j++ {
		a := args[j]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		if j+1 < len(args) && !strings.HasPrefix(args[j+1], "--") {
			f[a] = args[j+1]
			j++
		} else {
			f[a] = ""
		}
	}
	return f
}

// extraArgs turns Settings.Extra into --key value pairs in a stable order.
func extraArgs(extra map[string]string) []string {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		flag := k
		if !strings.HasPrefix(flag, "-") {
			flag = "--" + flag
		}
		out = append(out, flag)
		if v := extra[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}
