package netx

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Deadlines bound the phases of one request. Each phase that can hang has
// its own limit, because a single overall timeout either cuts a large but
// healthy download or lets a stalled header read hang for its whole length.
type Deadlines struct {
	Connect   time.Duration // TCP (and TLS) connect; 0 = 10 s
	FirstByte time.Duration // request sent → response headers; 0 = 30 s
	// A body must deliver at least MinRate bytes/s, measured over Window of
	// time spent waiting for it (time the reader spends elsewhere does not
	// count), and no read may wait a whole Window for its first byte.
	MinRate int64         // 0 = 16 KiB/s
	Window  time.Duration // 0 = 15 s
}

// WithDefaults fills zero fields.
func (d Deadlines) WithDefaults() Deadlines {
	if d.Connect <= 0 {
		d.Connect = 10 * time.Second
	}
	if d.FirstByte <= 0 {
		d.FirstByte = 30 * time.Second
	}
	if d.MinRate <= 0 {
		d.MinRate = 16 << 10
	}
	if d.Window <= 0 {
		d.Window = 15 * time.Second
	}
	return d
}

// ErrTooSlow is wrapped by *SlowError.
var ErrTooSlow = errors.New("too slow")

// SlowError says which host missed which deadline.
type SlowError struct {
	Host  string
	Phase string // "first byte" or "rate"
	Bytes int64  // rate: bytes received in the window
	In    time.Duration
	Min   int64 // rate: bytes/s needed
}

func (e *SlowError) Error() string {
	if e.Phase == "first byte" {
		return fmt.Sprintf("%s is too slow: no answer within %s", e.Host, e.In.Round(time.Second))
	}
	return fmt.Sprintf("%s is too slow: %d bytes in %s (at least %d KiB/s needed)", e.Host, e.Bytes, e.In.Round(time.Second), e.Min>>10)
}

func (e *SlowError) Unwrap() error { return ErrTooSlow }

// GuardBody enforces the minimum rate on a response body: when a read waits
// a whole window without a byte, or the bytes over a window of waiting fall
// below the rate, the body is closed (which unblocks the read) and reads
// return a *SlowError.
func GuardBody(body io.ReadCloser, host string, d Deadlines) io.ReadCloser {
	d = d.WithDefaults()
	return &guardedBody{body: body, host: host, d: d}
}

type guardedBody struct {
	body io.ReadCloser
	host string
	d    Deadlines

	mu      sync.Mutex
	timer   *time.Timer
	err     error // set once: the body was closed for being slow
	waited  time.Duration
	got     int64
	reading bool
}

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.err != nil {
		g.mu.Unlock()
		return 0, g.err
	}
	if g.timer == nil {
		g.timer = time.AfterFunc(g.d.Window, g.stalled)
	} else {
		g.timer.Reset(g.d.Window)
	}
	g.reading = true
	g.mu.Unlock()

	start := time.Now()
	n, err := g.body.Read(p)
	took := time.Since(start)

	g.mu.Lock()
	defer g.mu.Unlock()
	g.timer.Stop()
	g.reading = false
	if g.err != nil {
		return n, g.err
	}
	g.waited += took
	g.got += int64(n)
	if g.waited >= g.d.Window {
		if float64(g.got) < float64(g.d.MinRate)*g.waited.Seconds() {
			g.err = &SlowError{Host: g.host, Phase: "rate", Bytes: g.got, In: g.waited, Min: g.d.MinRate}
			g.body.Close()
			return n, g.err
		}
		g.waited, g.got = 0, 0
	}
	return n, err
}

// stalled runs when one read waited a whole window for its first byte.
func (g *guardedBody) stalled() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.reading || g.err != nil {
		return
	}
	g.err = &SlowError{Host: g.host, Phase: "rate", Bytes: g.got, In: g.waited + g.d.Window, Min: g.d.MinRate}
	g.body.Close()
}

func (g *guardedBody) Close() error {
	g.mu.Lock()
	if g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
	return g.body.Close()
}
