package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
)

// RunSamples sends the samples to inst with the given options and measures the
// run. On failure (engine died, too many consecutive errors, ctx cancelled, every
// request failed) it returns the partial result together with the error.
func RunSamples(ctx context.Context, inst engine.Instance, set []Sample, o Options) (*Result, error) {
	if len(set) == 0 {
		return nil, errors.New("bench: empty sample set")
	}
	o = o.withDefaults(inst, len(set))
	samples := prepare(set, o)
	res := &Result{
		Engine: inst.Engine(), Model: inst.Model(), Flags: inst.Flags(),
		Samples: o.Samples, Concurrency: o.Concurrency, MaxTokens: o.MaxTokens, Warmup: o.Warmup,
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Watch the engine process: a dead engine ends the run with its exit reason.
	watchDone := make(chan struct{})
	defer close(watchDone)
	var completed int
	var mu sync.Mutex
	go func() {
		select {
		case <-inst.Done():
			mu.Lock()
			n := completed
			mu.Unlock()
			cancel(&EngineDiedError{Done: n, Total: o.Samples, Err: inst.Err()})
		case <-watchDone:
		case <-runCtx.Done():
		}
	}()

	// A warm-up that ends early (repeat limit, stop token, length) is a
	// completed request; only a real error fails the run.
	for w := 0; w < o.Warmup; w++ {
		s := samples[w%len(samples)]
		r := one(runCtx, inst, s, -1, o)
		if r.Err != "" {
			return res, failure(runCtx, inst, fmt.Errorf("bench: warm-up request failed: %s", r.Err))
		}
	}
	counters, hasCounters := inst.(engine.CounterReader)
	var before engine.EngineCounters
	if hasCounters {
		var err error
		if before, err = counters.Counters(runCtx); err != nil {
			hasCounters = false
		}
	}

	res.Started = time.Now()
	res.PerSample = make([]SampleResult, len(samples))
	jobs := make(chan int)
	var wg sync.WaitGroup
	consecutive := 0
	errCount := 0
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := one(runCtx, inst, samples[i], i, o)
				mu.Lock()
				res.PerSample[i] = r
				completed++
				if r.Err != "" {
					errCount++
					consecutive++
					if consecutive >= o.MaxConsecutiveErrors {
						cancel(fmt.Errorf("%w: %d requests in a row failed; last: %s", ErrEngineUnresponsive, consecutive, r.Err))
					}
				} else {
					consecutive = 0
				}
				if o.Progress != nil {
					o.Progress(Progress{Done: completed, Total: len(samples), Errors: errCount,
						LastLatency: r.Latency, LastTTFT: r.TTFT, LastError: r.Err, Elapsed: time.Since(res.Started)})
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range samples {
		select {
		case jobs <- i:
		case <-runCtx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	res.Duration = time.Since(res.Started)
	// Keep only samples that were sent.
	sent := res.PerSample[:0]
	for _, r := range res.PerSample {
		if r.ID != "" {
			sent = append(sent, r)
		}
	}
	res.PerSample = sent
	if hasCounters && runCtx.Err() == nil {
		if after, err := counters.Counters(runCtx); err == nil {
			d := after.Sub(before)
			res.Counters = &d
		}
	}
	res.summarize()
	if runCtx.Err() != nil {
		return res, failure(runCtx, inst, context.Cause(runCtx))
	}
	if res.Completed == 0 {
		return res, failure(runCtx, inst, fmt.Errorf("bench: all %d requests failed; last: %s", res.Errors, lastErr(res)))
	}
	mctx, mcancel := context.WithTimeout(ctx, 30*time.Second)
	defer mcancel()
	if m, err := inst.Memory(mctx); err == nil {
		res.Memory = &m
	} else {
		res.MemoryErr = err.Error()
	}
	res.Info = engine.Describe(inst) // after the load, so the log names the engine path
	return res, nil
}

// failure prefers the engine's exit as the reason: requests to a killed engine
// fail a moment before its process is reaped, so wait briefly for Done.
func failure(runCtx context.Context, inst engine.Instance, err error) error {
	var died *EngineDiedError
	if errors.As(err, &died) {
		return err
	}
	if done := inst.Done(); done != nil {
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		select {
		case <-done:
			if c := context.Cause(runCtx); errors.As(c, &died) {
				return fmt.Errorf("%w (%v)", c, err)
			}
			return fmt.Errorf("%w (%v)", &EngineDiedError{Err: inst.Err()}, err)
		case <-t.C:
		}
	}
	return err
}

func lastErr(r *Result) string {
	for i := len(r.PerSample) - 1; i >= 0; i-- {
		if r.PerSample[i].Err != "" {
			return r.PerSample[i].Err
		}
	}
	return ""
}

// one sends a sample and times every streamed piece.
func one(ctx context.Context, inst engine.Instance, s Sample, idx int, o Options) SampleResult {
	r := SampleResult{Index: idx, ID: s.ID, Category: s.Category, Prompt: s.PromptText()}
	ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
	defer cancel()
	var stamps []time.Time
	start := time.Now()
	cr, err := inst.Chat(ctx, engine.ChatRequest{Messages: s.Messages, MaxTokens: s.MaxTokens,
		Temperature: o.Temperature, Seed: o.Seed}, func(string) { stamps = append(stamps, time.Now()) })
	end := time.Now()
	r.Latency = end.Sub(start)
	r.Output, r.PromptTokens, r.OutputTokens, r.Engine = cr.Text, cr.PromptTokens, cr.OutputTokens, cr.Timing
	r.StopReason = cr.FinishReason
	if err != nil {
		r.Err = err.Error()
		return r
	}
	if len(stamps) > 0 {
		r.TTFT = stamps[0].Sub(start)
	}
	for k := 1; k < len(stamps); k++ {
		r.itl = append(r.itl, stamps[k].Sub(stamps[k-1]))
	}
	if n := len(stamps); n > 1 {
		if span := stamps[n-1].Sub(stamps[0]); span > 0 {
			r.DecodeTPS = float64(n-1) / span.Seconds()
		}
	}
	if r.OutputTokens == 0 {
		r.OutputTokens = len(stamps) // engine gave no usage: count streamed pieces
	}
	return r
}
