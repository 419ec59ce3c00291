// Package netx is the network policy the Hub client and the downloader share:
// one retry loop with backoff, the deadlines that bound each phase of a
// request (connect, first byte, a minimum transfer rate) with errors that name
// the slow host, and the rule that a name-resolution failure is final.
package netx

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"
)

// Policy bounds a retry loop.
type Policy struct {
	Max      int           // failed attempts in a row (without progress) after the first; <0 = none
	Base     time.Duration // first backoff delay, doubled per failure; 0 = 500 ms
	Cap      time.Duration // largest backoff delay; 0 = 15 s
	AfterCap time.Duration // largest wait a server's Retry-After may ask; 0 = Cap
}

// Verdict is what one attempt says about trying again.
type Verdict struct {
	Retry    bool          // the failure is transient
	After    time.Duration // the server's Retry-After (0: back off)
	Now      bool          // retry without waiting (a fresh URL is the fix)
	Progress bool          // the attempt made progress: the failure count starts again
}

// Retry calls attempt until it succeeds, returns a failure not worth retrying,
// or Max failures in a row; it returns the last attempt's error (or the
// context's). last tells the attempt that no retry follows, so it can hand a
// final answer (a 503 to classify) to its caller instead of failing.
func Retry(ctx context.Context, p Policy, attempt func(last bool) (Verdict, error)) error {
	if p.Base <= 0 {
		p.Base = 500 * time.Millisecond
	}
	if p.Cap <= 0 {
		p.Cap = 15 * time.Second
	}
	if p.AfterCap <= 0 {
		p.AfterCap = p.Cap
	}
	failures := 0
	for {
		v, err := attempt(failures >= p.Max)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !v.Retry || IsNameResolution(err) {
			return err
		}
		if v.Progress {
			failures = 0
		}
		failures++
		if failures > p.Max {
			return err
		}
		wait := Backoff(p.Base, p.Cap, failures-1)
		if v.After > 0 {
			wait = min(v.After, p.AfterCap)
		}
		if v.Now {
			wait = 0
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Backoff is exponential with full jitter in [d/2, d], capped: parallel
// callers do not retry in lockstep.
func Backoff(base, cap time.Duration, n int) time.Duration {
	d := min(base<<min(n, 20), cap)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IsNameResolution reports a failed DNS lookup. It is final: offline, or a
// mistyped host, a retry only makes the user wait (issue 13.7: 6.5 s of
// retries before "cannot reach the Hub").
func IsNameResolution(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}
