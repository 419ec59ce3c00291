package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/netx"
)

// urlSource holds the current resolved URL and re-resolves it on demand.
type urlSource struct {
	resolve func(ctx context.Context) (string, error)
	mu      sync.Mutex
	url     string
	gen     int
}

func (u *urlSource) get(ctx context.Context) (string, int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.url == "" {
		s, err := u.resolve(ctx)
		if err != nil {
			return "", 0, fmt.Errorf("download: resolve: %w", err)
		}
		u.url, u.gen = s, u.gen+1
	}
	return u.url, u.gen, nil
}

// invalidate forgets URL generation gen, once, however many workers saw it expire.
func (u *urlSource) invalidate(gen int) {
	u.mu.Lock()
	if u.gen == gen {
		u.url = ""
	}
	u.mu.Unlock()
}

// retryable is a failure worth another attempt; after is the server's
// Retry-After, expired asks for a fresh URL.
type retryable struct {
	err     error
	after   time.Duration
	expired bool
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

var errStalled = errors.New("no bytes received within the stall timeout")

// fetchChunk fetches what is missing of c, retrying with netx's shared loop.
// The failure count starts again whenever an attempt made progress, so a
// flaky but moving connection is never given up on; an attempt ended by the
// minimum-rate deadline does not count as progress (a server sending a byte
// a second would otherwise be retried forever).
func (d *dl) fetchChunk(ctx context.Context, c *chunk) error {
	policy := netx.Policy{Max: d.opts.MaxRetries, Base: d.opts.BackoffBase, Cap: maxWaitTime, AfterCap: time.Minute}
	fails := 0
	err := netx.Retry(ctx, policy, func(bool) (netx.Verdict, error) {
		for c.remaining() > 0 {
			before := c.done.Load()
			err := d.fetchRange(ctx, c)
			if err == nil {
				continue
			}
			var r *retryable
			if !errors.As(err, &r) || ctx.Err() != nil {
				return netx.Verdict{}, err
			}
			progress := c.done.Load() > before && !errors.Is(err, netx.ErrTooSlow)
			if progress {
				fails = 0
			}
			fails++
			// A fresh URL is the fix for an expired one: no need to wait.
			return netx.Verdict{Retry: true, Progress: progress, After: r.after, Now: r.expired && fails == 1}, err
		}
		return netx.Verdict{}, nil
	})
	var r *retryable
	if errors.As(err, &r) && ctx.Err() == nil {
		if netx.IsNameResolution(r.err) {
			return r.err
		}
		return fmt.Errorf("download: %s bytes %d-%d: giving up after %d attempts: %w",
			d.spec.Name, c.Start, c.End-1, fails, r.err)
	}
	return err
}

// fetchRange makes one request for the missing bytes of c and writes what
// arrives. A 200 answer to the range request (a server ignoring Range) is
// used too: the bytes before the chunk are skipped.
func (d *dl) fetchRange(ctx context.Context, c *chunk) error {
	u, gen, err := d.url.get(ctx)
	if err != nil {
		return err
	}
	start, end := c.Start+c.done.Load(), c.End-1
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := &stallTimer{}
	stall.t = time.AfterFunc(d.opts.StallTimeout, func() { stall.fired.Store(true); cancel() })
	defer stall.t.Stop()

	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("download: bad URL from resolver: %w", err)
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10))
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return d.transient(err, stall)
	}
	defer resp.Body.Close()
	body := &stallReader{r: resp.Body, s: stall, d: d.opts.StallTimeout}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if err := d.checkContentRange(resp.Header.Get("Content-Range"), start); err != nil {
			return err
		}
	case resp.StatusCode == http.StatusOK:
		if resp.ContentLength >= 0 && resp.ContentLength != d.spec.Size {
			return fmt.Errorf("download: %s: %w: server sends %d bytes, expected %d", d.spec.Name, ErrSizeMismatch, resp.ContentLength, d.spec.Size)
		}
		if _, err := io.CopyN(io.Discard, body, start); err != nil {
			return d.transient(err, stall)
		}
	case resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode == 410:
		d.url.invalidate(gen) // an expired or revoked signature: resolve again
		return &retryable{err: d.httpErr(resp), expired: true}
	case resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode >= 500:
		return &retryable{err: d.httpErr(resp), after: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return d.httpErr(resp)
	}
	return d.copyBody(c, body, stall)
}

func (d *dl) copyBody(c *chunk, body io.Reader, stall *stallTimer) error {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	for c.remaining() > 0 {
		want := min(int64(len(*buf)), c.remaining())
		n, rerr := io.ReadFull(body, (*buf)[:want])
		if n > 0 {
			off := c.Start + c.done.Load()
			if _, err := d.f.WriteAt((*buf)[:n], off); err != nil {
				return fmt.Errorf("download: write %s: %w", d.f.Name(), err)
			}
			c.done.Add(int64(n))
			d.prog.onDisk.Add(int64(n))
			d.prog.fetched.Add(int64(n))
			d.wake()
		}
		if rerr != nil {
			if c.remaining() == 0 {
				return nil
			}
			return d.transient(rerr, stall)
		}
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func (d *dl) checkContentRange(cr string, start int64) error {
	// "bytes START-END/TOTAL"
	rest, ok := strings.CutPrefix(cr, "bytes ")
	rng, total, ok2 := strings.Cut(rest, "/")
	first, _, ok3 := strings.Cut(rng, "-")
	s, err := strconv.ParseInt(first, 10, 64)
	if !ok || !ok2 || !ok3 || err != nil || s != start {
		return &retryable{err: fmt.Errorf("download: %s: unexpected Content-Range %q for offset %d", d.spec.Name, cr, start)}
	}
	if t, err := strconv.ParseInt(total, 10, 64); err == nil && t != d.spec.Size {
		return fmt.Errorf("download: %s: %w: server reports %d bytes, expected %d", d.spec.Name, ErrSizeMismatch, t, d.spec.Size)
	}
	return nil
}

func (d *dl) transient(err error, stall *stallTimer) error {
	if stall.fired.Load() {
		err = errStalled
	}
	return &retryable{err: fmt.Errorf("download: %s: %w", d.spec.Name, err)}
}

func (d *dl) httpErr(resp *http.Response) error {
	u := *resp.Request.URL
	u.RawQuery = "" // signatures stay out of messages and logs
	return &HTTPError{Status: resp.StatusCode, URL: (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()}
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// stallTimer cancels a request when no byte arrived for StallTimeout.
type stallTimer struct {
	t     *time.Timer
	fired atomicBool
}

type stallReader struct {
	r io.Reader
	s *stallTimer
	d time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.s.t.Reset(s.d)
	}
	return n, err
}
