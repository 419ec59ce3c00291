package bench

import (
	"math"
	"sort"
	"time"

	"github.com/fitbench/fitbench/internal/registry"
)

// Dist summarises a latency distribution in milliseconds.
type Dist struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	N    int     `json:"n"`
}

// distOf summarises durations; percentiles interpolate linearly between ranks.
func distOf(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	ms := make([]float64, len(ds))
	sum := 0.0
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	sort.Float64s(ms)
	return Dist{Mean: sum / float64(len(ms)), P50: pct(ms, 50), P95: pct(ms, 95), P99: pct(ms, 99), N: len(ms)}
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	r := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(r))
	hi := int(math.Ceil(r))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(r-float64(lo))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Where a run's decode rate comes from.
const (
	SourceEngineTimings = "engine timings per request (Ollama eval_count/eval_duration, llama-server timings)"
	SourceVLLMMetrics   = "vLLM /metrics (generation tokens and decode time over the run)"
	SourceHarness       = "harness stream timing (the engine reports no timings of its own)"
)

// summarize fills the aggregate metrics of r from its per-sample results.
// Decode comes from the engine's own timings; the harness's figures (TTFT, E2E,
// ITL, output tok/s over wall time, per-request end-to-end rate) are its own
// and never feed the decode rate when the engine reports one.
func (r *Result) summarize() {
	var ttft, e2e, itl, tpot []time.Duration
	var harness, e2eRate, engReq, engPrompt []float64
	var steps int
	var evalDur time.Duration
	r.Completed, r.Errors, r.PromptTokens, r.OutputTokens, r.EngineTimed = 0, 0, 0, 0, 0
	r.StopReasons, r.ErrorReasons = map[string]int{}, []registry.ErrorReason{}
	byReason := map[string]int{}
	for _, s := range r.PerSample {
		if s.Err != "" {
			r.Errors++
			if k, ok := byReason[s.Err]; ok {
				r.ErrorReasons[k].Count++
			} else {
				byReason[s.Err] = len(r.ErrorReasons)
				r.ErrorReasons = append(r.ErrorReasons, registry.ErrorReason{Reason: s.Err, Count: 1, FirstSample: s.Index})
			}
			continue
		}
		r.Completed++
		r.StopReasons[orUnknown(s.StopReason)]++
		r.PromptTokens += s.PromptTokens
		r.OutputTokens += s.OutputTokens
		e2e = append(e2e, s.Latency)
		if s.TTFT > 0 {
			ttft = append(ttft, s.TTFT)
		}
		itl = append(itl, s.itl...)
		if s.OutputTokens > 1 && s.TTFT > 0 {
			tpot = append(tpot, (s.Latency-s.TTFT)/time.Duration(s.OutputTokens-1))
		}
		if s.Latency > 0 && s.OutputTokens > 0 {
			e2eRate = append(e2eRate, float64(s.OutputTokens)/s.Latency.Seconds())
		}
		if s.DecodeTPS > 0 {
			harness = append(harness, s.DecodeTPS)
		}
		if s.Engine != nil && s.Engine.EvalDuration > 0 && s.Engine.DecodeSteps() > 0 {
			r.EngineTimed++
			steps += s.Engine.DecodeSteps()
			evalDur += s.Engine.EvalDuration
			if v := s.Engine.PromptTPS(); v > 0 {
				engPrompt = append(engPrompt, v)
			}
			if d := s.Engine.PromptDuration + s.Engine.EvalDuration; d > 0 && s.Latency > 0 && s.OutputTokens > 0 {
				engReq = append(engReq, float64(s.Engine.EvalTokens)/d.Seconds())
			}
		}
	}
	r.TTFT, r.E2E, r.ITL, r.TPOT = distOf(ttft), distOf(e2e), distOf(itl), distOf(tpot)
	r.HarnessE2ETPS, r.EngineRequestTPS, r.EnginePromptTPS = mean(e2eRate), mean(engReq), mean(engPrompt)
	r.EngineDecodeTPS, r.HarnessDecodeTPS, r.DecodeSource = 0, 0, ""
	switch {
	case steps > 0 && evalDur > 0:
		r.EngineDecodeTPS = float64(steps) / evalDur.Seconds()
		r.DecodeSource = SourceEngineTimings
	case r.Counters != nil && r.Counters.DecodeStepTPS() > 0:
		r.EngineDecodeTPS = r.Counters.DecodeStepTPS()
		r.DecodeSource = SourceVLLMMetrics
	case len(harness) > 0:
		r.HarnessDecodeTPS = mean(harness)
		r.DecodeSource = SourceHarness
	}
	r.EngineStepTPS = r.EngineDecodeTPS
	if sec := r.Duration.Seconds(); sec > 0 {
		r.OutputTokS = float64(r.OutputTokens) / sec
		r.PromptTokS = float64(r.PromptTokens) / sec
		r.TotalTokS = float64(r.OutputTokens+r.PromptTokens) / sec
		r.RequestsPerS = float64(r.Completed) / sec
	}
}

// DecodeTokS is the run's decode rate: the engine's, else the harness's
// stream-timed figure (for servers that report no timings).
func (r *Result) DecodeTokS() float64 {
	if r.EngineDecodeTPS > 0 {
		return r.EngineDecodeTPS
	}
	return r.HarnessDecodeTPS
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
