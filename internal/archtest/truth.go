// Package archtest is the ground truth for memory estimates of today's
// architectures: it loads small random-weight models (internal/gguf/synth
// presets) in a real `ollama serve` (v0.17.4, CPU) and reads from its log which
// engine path ran them — Ollama's own Go engine or its llama.cpp runner — and
// the exact bytes that path allocated for weights, KV cache, recurrent state,
// compute graph and output.
//
// The matrix (Cases) is every small preset × context 2048 and 8192 × 1 and 2
// parallel sequences. The engine matrix test and `make bench`'s estimate
// benchmark both use it; the comparison with fitbench's estimate is in
// compare.go, with global thresholds and an explicit list of known mismatches.
package archtest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Path is the engine path that ran a model.
type Path string

// Engine paths of Ollama v0.17.4 (llm/server.go NewLlamaServer: its own engine
// for the architectures of fs/ggml OllamaEngineRequired, unless the model's
// tokenizer/model code refuses the file — "switching to compatibility mode").
const (
	PathOllama   Path = "ollama"   // Ollama's own Go engine (runner --ollama-engine)
	PathLlamaCpp Path = "llamacpp" // Ollama's llama.cpp runner
)

// Truth is what the engine printed for one load. All sizes are bytes summed
// over devices (this is a CPU build: one device).
type Truth struct {
	Path Path `json:"path"`
	// Fallback is the reason Ollama logged when it switched a model its engine
	// is meant to run to the llama.cpp runner ("" when it did not).
	Fallback string `json:"fallback,omitempty"`

	Weights   uint64 `json:"weights"`
	KV        uint64 `json:"kv"`        // attention KV cache(s)
	Recurrent uint64 `json:"recurrent"` // recurrent / short-conv state (llama.cpp RS buffer; Ollama: cache of non-attention layers)
	Compute   uint64 `json:"compute"`
	Output    uint64 `json:"output"` // llama.cpp's logits/embeddings buffer (Ollama's engine has none)
	Total     uint64 `json:"total"`  // the sum of the above

	// Ollama's engine only (OLLAMA_DEBUG "memory" line): the token embedding
	// kept on the CPU, per-layer weights (last entry: the output layer) and
	// per-layer cache.
	InputWeights uint64   `json:"input_weights,omitempty"`
	LayerWeights []uint64 `json:"layer_weights,omitempty"`
	LayerCache   []uint64 `json:"layer_cache,omitempty"`

	// What the load used: flash attention ("enabled"/"disabled"/"auto" as
	// logged), n_ctx and n_ubatch (llama.cpp), the KV size Ollama requested.
	FlashAttention string `json:"flash_attention,omitempty"`
	KVSize         int    `json:"kv_size,omitempty"`
	NCtx           int    `json:"n_ctx,omitempty"`
	NUbatch        int    `json:"n_ubatch,omitempty"`
	// Exact is false when a size came from a rounded line (llama.cpp prints MiB
	// with two decimals: ±5 KiB per line).
	Exact bool `json:"exact"`
}

var (
	reRunner   = regexp.MustCompile(`msg="starting runner" cmd="[^"]*\brunner( --ollama-engine)? --model `)
	reFallback = regexp.MustCompile(`switching to compatibility mode".*?error="?([^"\n]*)"?`)
	// Ollama's engine, OLLAMA_DEBUG=1 (llm/server.go: slog.Debug("memory", …, "required", resp.Memory)).
	reRequired = regexp.MustCompile(`msg=memory success=\S+ required\.`)
	reInputW   = regexp.MustCompile(`required\.InputWeights=(\d+)`)
	reCPUW     = regexp.MustCompile(`required\.CPU\.Weights="?\[([\d ]*)\]`)
	reCPUC     = regexp.MustCompile(`required\.CPU\.Cache="?\[([\d ]*)\]`)
	reCPUG     = regexp.MustCompile(`required\.CPU\.Graph=(\d+)`)
	reLoadReq  = regexp.MustCompile(`msg=load request="\{Operation:(\w+) .*?FlashAttention:(\w+) KvSize:(\d+)`)
	// llama.cpp (llama-model.cpp, llama-kv-cache.cpp, llama-memory-recurrent.cpp, llama-context.cpp).
	reBuf       = regexp.MustCompile(`^\s*([a-z_]+)\s*:\s*(\S+)\s+(model|KV|RS|compute|output)\s+buffer size\s*=\s*([0-9.]+)\s*(MiB|KiB|GiB|B)\b`)
	reNCtx      = regexp.MustCompile(`llama_context:\s+n_ctx\s*=\s*(\d+)`)
	reUbatch    = regexp.MustCompile(`llama_context:\s+n_ubatch\s*=\s*(\d+)`)
	reFlash     = regexp.MustCompile(`llama_context:\s+flash_attn\s*=\s*(\w+)`)
	reFlashAuto = regexp.MustCompile(`Flash Attention was auto, set to (\w+)`)
)

// ParseLog reads one load's log (the server's output from before the request
// to after the model answered). attnLayer says which layers hold attention KV
// (the others' cache is recurrent state); nil means all.
func ParseLog(log string, attnLayer func(int) bool) (Truth, error) {
	var t Truth
	lines := strings.Split(log, "\n")
	runner := -1
	for i, l := range lines {
		if g := reRunner.FindStringSubmatch(l); g != nil {
			runner = i
			t.Path = PathLlamaCpp
			if g[1] != "" {
				t.Path = PathOllama
			}
		}
		if g := reFallback.FindStringSubmatch(l); g != nil {
			t.Fallback = strings.TrimSpace(g[1])
		}
	}
	if runner < 0 {
		return t, fmt.Errorf("archtest: no model runner started in the log")
	}
	lines = lines[runner:]
	if t.Path == PathOllama {
		return t, t.parseOllama(lines, attnLayer)
	}
	return t, t.parseLlamaCpp(lines)
}

func (t *Truth) parseOllama(lines []string, attnLayer func(int) bool) error {
	last := ""
	for _, l := range lines {
		if reRequired.MatchString(l) {
			last = l
		}
		if g := reLoadReq.FindStringSubmatch(l); g != nil {
			t.FlashAttention = strings.ToLower(g[2])
			t.KVSize, _ = strconv.Atoi(g[3])
		}
	}
	if last == "" {
		return fmt.Errorf("archtest: Ollama engine log has no memory line (is OLLAMA_DEBUG=1 set?)")
	}
	if g := reInputW.FindStringSubmatch(last); g != nil {
		t.InputWeights, _ = strconv.ParseUint(g[1], 10, 64)
	}
	if g := reCPUW.FindStringSubmatch(last); g != nil {
		t.LayerWeights = Uints(g[1])
	}
	if g := reCPUC.FindStringSubmatch(last); g != nil {
		t.LayerCache = Uints(g[1])
	}
	if g := reCPUG.FindStringSubmatch(last); g != nil {
		t.Compute, _ = strconv.ParseUint(g[1], 10, 64)
	}
	t.Weights = t.InputWeights + sum(t.LayerWeights)
	for i, c := range t.LayerCache {
		if attnLayer == nil || attnLayer(i) {
			t.KV += c
		} else {
			t.Recurrent += c
		}
	}
	t.Total = t.Weights + t.KV + t.Recurrent + t.Compute
	t.Exact = true
	if t.Weights == 0 {
		return fmt.Errorf("archtest: Ollama engine memory line without weights: %s", last)
	}
	return nil
}

func (t *Truth) parseLlamaCpp(lines []string) error {
	// The runner loads the model once; the vocab-only load before it prints no
	// buffers. Sum every buffer line: a sliding-window model has two KV caches
	// (llama_kv_cache_iswa), a hybrid one a KV and an RS buffer.
	t.Exact = false
	for _, l := range lines {
		if g := reBuf.FindStringSubmatch(l); g != nil {
			b := ToBytes(g[4], g[5])
			switch g[3] {
			case "model":
				t.Weights += b
			case "KV":
				t.KV += b
			case "RS":
				t.Recurrent += b
			case "compute":
				t.Compute += b
			case "output":
				t.Output += b
			}
			continue
		}
		if g := reNCtx.FindStringSubmatch(l); g != nil {
			t.NCtx, _ = strconv.Atoi(g[1])
		}
		if g := reUbatch.FindStringSubmatch(l); g != nil {
			t.NUbatch, _ = strconv.Atoi(g[1])
		}
		if g := reFlash.FindStringSubmatch(l); g != nil && t.FlashAttention == "" {
			t.FlashAttention = strings.ToLower(g[1])
		}
		if g := reFlashAuto.FindStringSubmatch(l); g != nil {
			t.FlashAttention = strings.ToLower(g[1]) // the resolved "auto"
		}
		if g := reLoadReq.FindStringSubmatch(l); g != nil {
			t.KVSize, _ = strconv.Atoi(g[3])
			if t.FlashAttention == "" {
				t.FlashAttention = strings.ToLower(g[2])
			}
		}
	}
	t.Total = t.Weights + t.KV + t.Recurrent + t.Compute + t.Output
	if t.Weights == 0 {
		return fmt.Errorf("archtest: llama.cpp runner log has no model buffer line")
	}
	return nil
}

// Uints parses space-separated unsigned integers (bad fields read as 0).
func Uints(s string) []uint64 {
	var out []uint64
	for _, f := range strings.Fields(s) {
		v, _ := strconv.ParseUint(f, 10, 64)
		out = append(out, v)
	}
	return out
}

func sum(xs []uint64) uint64 {
	var t uint64
	for _, x := range xs {
		t += x
	}
	return t
}

// ToBytes converts a size llama.cpp printed (MiB with two decimals: ±5 KiB).
func ToBytes(num, unit string) uint64 {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0
	}
	mult := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
	return uint64(f*mult + 0.5)
}
