// Package engine starts (or connects to) a real inference engine with a GGUF model
// and gives the benchmark runner one way to talk to all of them: an
// OpenAI-compatible endpoint, a streaming chat call that also returns the engine's
// own timings where it reports them, and measured memory.
//
// Engines are external processes, never linked in. Every process start is bounded
// by a timeout, processes are killed when the context is cancelled or Stop is
// called, and Done reports a process that died on its own so a benchmark can fail
// with a reason instead of hanging.
package engine

import (
	"context"
	"time"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
)

// Settings describe how to load one model. Zero values mean "the engine's default".
type Settings struct {
	ModelPath string // the GGUF file (first shard for split models)
	ModelID   string // fitbench model id, e.g. org/repo:Q4_K_M; names the model in the engine
	// ProjectorPath is the vision projector (mmproj GGUF) installed with the
	// model; "" for none. llama-server gets --mmproj, Ollama a projector layer;
	// vLLM runs without it (a note says so).
	ProjectorPath string
	// GPULayers is the number of layers to offload (llama.cpp -ngl, Ollama num_gpu);
	// -1 leaves the choice to the engine.
	GPULayers int
	// Ctx is the context length of ONE sequence, in every adapter; each adapter
	// translates it to its engine's own flag: llama-server -c is the total over
	// its slots (Ctx × Parallel), Ollama's num_ctx is per sequence (Ollama
	// multiplies it by OLLAMA_NUM_PARALLEL itself), vLLM's --max-model-len is per
	// sequence.
	Ctx      int
	Parallel int // parallel sequences / slots
	Threads  int
	Seed     int
	// CacheType is the KV cache type. llama.cpp family: f16, q8_0, q4_0 (-ctk/-ctv
	// for llama-server; OLLAMA_KV_CACHE_TYPE, with flash attention on, for an
	// Ollama server fitbench starts). vLLM: auto, fp8, fp8_e4m3, fp8_e5m2
	// (f16 means auto); a llama.cpp type is refused there.
	CacheType string
	// NBatch and NUbatch are llama.cpp's -b/-ub (logical and physical batch);
	// 0 leaves the engine's default.
	NBatch  int
	NUbatch int
	Extra   map[string]string // extra engine flags, passed as --key value
	// vLLM only.
	Tokenizer      string
	GPUMemUtil     float64
	CPUOffloadGB   float64
	TensorParallel int // --tensor-parallel-size; 0 = vLLM's default (1)
	// StartTimeout bounds process start and model load; default 3 minutes.
	StartTimeout time.Duration
	// LogDir receives the engine's log file when fitbench starts the process;
	// default a temporary directory.
	LogDir string
}

func (s Settings) startTimeout() time.Duration {
	if s.StartTimeout > 0 {
		return s.StartTimeout
	}
	return 3 * time.Minute
}

// Engine is one kind of inference server.
type Engine interface {
	Name() string
	// Start starts the engine (or connects to a running one) and loads the model.
	Start(ctx context.Context, s Settings) (Instance, error)
}

// Instance is a loaded model behind a running engine.
type Instance interface {
	Engine() string
	// BaseURL is the OpenAI-compatible base, ending in /v1.
	BaseURL() string
	// Model is the model name to put in requests.
	Model() string
	// Flags are the engine flags and options actually used, recorded with results.
	Flags() map[string]string
	// Parallel is the number of requests the engine serves at once (default concurrency).
	Parallel() int
	// Chat sends one streaming chat request; onDelta is called as each piece of
	// output arrives so the caller can time it.
	Chat(ctx context.Context, req ChatRequest, onDelta func(text string)) (ChatResult, error)
	// Memory reports measured memory use of the loaded model.
	Memory(ctx context.Context) (MemoryReport, error)
	// Done is closed when an engine process fitbench started has exited; nil
	// (never closes) when fitbench only connected to a server.
	Done() <-chan struct{}
	// Err says why the process exited, once Done is closed.
	Err() error
	Stop(ctx context.Context) error
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is one benchmark request. Temperature 0 unless set.
type ChatRequest struct {
	Messages    []Message
	MaxTokens   int
	Temperature float64
	Seed        int
}

// Why an answer ended, as ChatResult.FinishReason carries it. Each is a normal
// end of a completed sample, not an error.
const (
	FinishStop        = "stop"         // a stop token (end of sequence) or stop string
	FinishLength      = "length"       // the max-tokens limit
	FinishRepeatLimit = "repeat_limit" // Ollama ends an answer whose token repeated more than 30 times
)

// ChatResult is what a finished request returned.
type ChatResult struct {
	Text         string
	PromptTokens int // from usage or the engine; 0 when unknown
	OutputTokens int
	// FinishReason is the engine's own reason (FinishStop, FinishLength, …), or
	// FinishRepeatLimit; "" when the engine gave none.
	FinishReason string
	// Timing is the engine's own account of the request, when it reports one.
	Timing *EngineTiming
}

// EngineTiming is the engine-side view of a request (Ollama eval_count/eval_duration,
// llama-server timings).
type EngineTiming struct {
	PromptTokens   int
	PromptDuration time.Duration
	EvalTokens     int
	EvalDuration   time.Duration
}

// DecodeSteps is the number of decode steps EvalDuration spans: the first
// output token is sampled from the prompt pass, so both Ollama runners
// (runner/llamarunner: generationDuration counts from numDecoded > 1;
// runner/ollamarunner: EvalDuration starts at the first prediction) and
// llama-server (t_token_generation starts at the first token) time
// EvalTokens-1 steps.
func (t EngineTiming) DecodeSteps() int { return max(t.EvalTokens-1, 0) }

// StepTPS is the engine's decode rate: decode steps per second of its own
// eval time. This is the figure the speed estimate predicts.
func (t EngineTiming) StepTPS() float64 {
	if t.EvalDuration <= 0 || t.DecodeSteps() == 0 {
		return 0
	}
	return float64(t.DecodeSteps()) / t.EvalDuration.Seconds()
}

// DecodeTPS is eval_count/eval_duration as the engine reports it (Ollama's
// "eval rate"); it overstates the step rate by EvalTokens/(EvalTokens-1).
func (t EngineTiming) DecodeTPS() float64 {
	if t.EvalDuration <= 0 {
		return 0
	}
	return float64(t.EvalTokens) / t.EvalDuration.Seconds()
}

// PromptTPS is the engine-reported prompt processing rate in tokens per second.
func (t EngineTiming) PromptTPS() float64 {
	if t.PromptDuration <= 0 {
		return 0
	}
	return float64(t.PromptTokens) / t.PromptDuration.Seconds()
}

// MemoryReport is measured memory of the loaded model, in bytes.
type MemoryReport struct {
	GPUBytes int64
	CPUBytes int64
	// Source says where the numbers come from ("ollama /api/ps", "load log").
	Source string
	// Log is what the load log said (per-device, per-kind buffers), when read.
	Log *llamalog.Memory
}
