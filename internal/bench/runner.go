package bench

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// Options are a run's settings. Zero values take the defaults noted.
type Options struct {
	Samples     int // how many samples to send (default all; cycles through the set when larger)
	Concurrency int // requests in flight (default: the instance's parallel slots)
	// MaxTokens caps output per request (default 64, CPU-friendly); a sample's own
	// max_tokens wins when it is smaller.
	MaxTokens   int
	Temperature float64 // 0: greedy, for reproducible outputs
	Seed        int
	Warmup      int // requests sent first and excluded from metrics (default 1; -1 for none)
	// BustCache prefixes every prompt with a unique nonce so that the engine's
	// prefix cache cannot reuse work from an earlier run or sample.
	BustCache bool
	// RequestTimeout bounds one request (default 5 minutes).
	RequestTimeout time.Duration
	// MaxConsecutiveErrors aborts the run when this many requests fail in a row
	// (default 10): an engine that stopped answering fails the run instead of
	// producing a table of errors.
	MaxConsecutiveErrors int
	// Progress is called after every completed sample (from worker goroutines,
	// one call at a time).
	Progress func(Progress)
}

// Progress is one completed sample.
type Progress struct {
	Done, Total, Errors int
	LastLatency         time.Duration
	LastTTFT            time.Duration
	LastError           string
	Elapsed             time.Duration
}

// SampleResult is one request's measurement.
type SampleResult struct {
	Index        int
	ID           string
	Category     string
	Prompt       string
	Output       string
	PromptTokens int
	OutputTokens int
	TTFT         time.Duration
	Latency      time.Duration
	// DecodeTPS is the harness's stream-timed decode rate for this request:
	// (pieces-1) over the time from the first to the last streamed piece. Pieces
	// arrive in bursts on a busy machine, so it is used only when the engine
	// reports no timings of its own.
	DecodeTPS float64
	Engine    *engine.EngineTiming
	// StopReason is why a completed sample ended (engine.FinishStop, FinishLength,
	// FinishRepeatLimit…); an answer that ends early is still a completed sample.
	StopReason string
	Err        string
	itl        []time.Duration
}

// Result is a whole run.
type Result struct {
	Engine      string            `json:"engine"`
	Model       string            `json:"model"`
	Flags       map[string]string `json:"flags"`
	Samples     int               `json:"samples"`
	Concurrency int               `json:"concurrency"`
	MaxTokens   int               `json:"max_tokens"`
	Warmup      int               `json:"warmup"`
	Started     time.Time         `json:"started"`
	Duration    time.Duration     `json:"duration"`

	Completed    int `json:"completed"`
	Errors       int `json:"errors"`
	PromptTokens int `json:"prompt_tokens"`
	OutputTokens int `json:"output_tokens"`

	OutputTokS   float64 `json:"output_tok_s"` // generated tokens / wall time, at this concurrency
	TotalTokS    float64 `json:"total_tok_s"`  // (prompt + generated) / wall time
	PromptTokS   float64 `json:"prompt_tok_s"`
	RequestsPerS float64 `json:"requests_per_s"`
	// Harness figures, measured by fitbench from outside the engine.
	TTFT Dist `json:"ttft"`
	E2E  Dist `json:"e2e"`
	ITL  Dist `json:"itl"`
	TPOT Dist `json:"tpot"`
	// HarnessE2ETPS is, per completed request, output tokens over its
	// end-to-end time, averaged: the engine's work happens inside that time, so
	// per request it can never exceed EngineRequestTPS.
	HarnessE2ETPS float64 `json:"harness_e2e_tok_s"`
	// EngineRequestTPS is the same per-request figure from the engine's own
	// clock: output tokens over prompt + eval time. It is the engine-side
	// counterpart HarnessE2ETPS is compared with (and never exceeds); the
	// decode rate excludes the first token, which the prompt pass produces.
	EngineRequestTPS float64 `json:"engine_request_tok_s"`
	// HarnessDecodeTPS is the mean stream-timed rate (SampleResult.DecodeTPS),
	// filled only when the engine reports no timings (0 otherwise).
	HarnessDecodeTPS float64 `json:"harness_decode_tok_s"`

	// EngineDecodeTPS is the decode rate from the engine's own timings: decode
	// steps over eval time, summed over the samples that report them (Ollama
	// eval_count/eval_duration, llama-server timings, vLLM /metrics deltas).
	// DecodeSource names which. 0 when the engine reports none.
	EngineDecodeTPS float64 `json:"engine_decode_tok_s"`
	EnginePromptTPS float64 `json:"engine_prompt_tok_s"`
	// EngineStepTPS equals EngineDecodeTPS (kept for callers of the older name).
	EngineStepTPS float64 `json:"engine_step_tok_s"`
	DecodeSource  string  `json:"decode_source"`
	// EngineTimed is how many completed samples carried the engine's timings.
	EngineTimed int `json:"engine_timed"`
	// Counters are the engine's own counters over the run (vLLM), when read.
	Counters *engine.EngineCounters `json:"counters,omitempty"`
	// StopReasons counts how completed samples ended; ErrorReasons groups the
	// failed ones by reason, in order of first appearance.
	StopReasons  map[string]int         `json:"stop_reasons"`
	ErrorReasons []registry.ErrorReason `json:"error_reasons"`
	Info         engine.Info            `json:"engine_info"`

	Memory    *engine.MemoryReport `json:"memory,omitempty"`
	MemoryErr string               `json:"memory_error,omitempty"`

	PerSample []SampleResult `json:"-"`
}

// EngineDiedError is a run stopped because the engine process exited.
type EngineDiedError struct {
	Done, Total int
	Err         error
}

func (e *EngineDiedError) Error() string {
	return fmt.Sprintf("engine died mid-run after %d of %d samples: %v", e.Done, e.Total, e.Err)
}
func (e *EngineDiedError) Unwrap() error { return e.Err }

// ErrEngineUnresponsive is wrapped when too many requests fail in a row.
var ErrEngineUnresponsive = errors.New("engine stopped answering")

func (o Options) withDefaults(inst engine.Instance, n int) Options {
	if o.Samples <= 0 {
		o.Samples = n
	}
	if o.Concurrency <= 0 {
		o.Concurrency = max(inst.Parallel(), 1)
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 64
	}
	if o.Warmup == 0 {
		o.Warmup = 1
	} else if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Minute
	}
	if o.MaxConsecutiveErrors <= 0 {
		o.MaxConsecutiveErrors = 10
	}
	return o
}

// prepare picks the run's samples (cycling when more are asked for than the set
// holds) and applies the cache-busting prefix.
func prepare(set []Sample, o Options) []Sample {
	out := make([]Sample, o.Samples)
	nonce := make([]byte, 4)
	rand.Read(nonce)
	for i := range out {
		s := set[i%len(set)]
		s.Messages = append([]engine.Message(nil), s.Messages...)
		if o.BustCache {
			k := len(s.Messages) - 1
			s.Messages[k].Content = fmt.Sprintf("[%s-%d] %s", hex.EncodeToString(nonce), i, s.Messages[k].Content)
		}
		if s.MaxTokens <= 0 || s.MaxTokens > o.MaxTokens {
			s.MaxTokens = o.MaxTokens
		}
		out[i] = s
	}
	return out
}
