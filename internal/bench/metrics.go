package bench

import (
	"math"
	"sort"
	"time"
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

// summarize fills the aggregate metrics of r from its per-sample results.
func (r *Result) summarize() {
	var ttft, e2e, itl, tpot []time.Duration
	var harness, eng, engStep, engPrompt []float64
	r.Completed, r.Errors, r.PromptTokens, r.OutputTokens = 0, 0, 0, 0
	for _, s := range r.PerSample {
		if s.Err != "" {
			r.Errors++
			continue
		}
		r.Completed++
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
		if s.DecodeTPS > 0 {
			harness = append(harness, s.DecodeTPS)
		}
		if s.Engine != nil {
			if v := s.Engine.DecodeTPS(); v > 0 {
				eng = append(eng, v)
				if s.Engine.EvalTokens > 1 {
					engStep = append(engStep, float64(s.Engine.EvalTokens-1)/s.Engine.EvalDuration.Seconds())
				}
			}
			if v := s.Engine.PromptTPS(); v > 0 {
				engPrompt = append(engPrompt, v)
			}
		}
	}
	r.TTFT, r.E2E, r.ITL, r.TPOT = distOf(ttft), distOf(e2e), distOf(itl), distOf(tpot)
	r.HarnessDecodeTPS, r.EngineDecodeTPS, r.EnginePromptTPS = mean(harness), mean(eng), mean(engPrompt)
	r.EngineStepTPS = mean(engStep)
	if sec := r.Duration.Seconds(); sec > 0 {
		r.OutputTokS = float64(r.OutputTokens) / sec
		r.PromptTokS = float64(r.PromptTokens) / sec
		r.TotalTokS = float64(r.OutputTokens+r.PromptTokens) / sec
		r.RequestsPerS = float64(r.Completed) / sec
	}
}
