// Package localhub is a stand-in for the Hugging Face Hub that serves real files
// from a directory with the Hub's response shapes. Tests, benchmarks and offline
// demos point HF_ENDPOINT at it so that no test ever reaches the internet, and
// they inject the faults a real Hub and CDN produce (429, 5xx, dropped
// connections, flipped bytes, expired signatures) to prove the client copes.
//
// It runs two listeners: the API (model info, tree, refs, resolve) and a "CDN"
// on another port that serves signed, expiring URLs with HTTP ranges, so that
// clients must really drop Authorization when the host changes.
package localhub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Hub. Zero values give a fast, fault-free hub.
type Options struct {
	Root             string        // DIR/{org}/{repo}/... real files
	Addr             string        // API listener; "127.0.0.1:0" by default
	CDNAddr          string        // CDN listener; "127.0.0.1:0" by default
	PageSize         int           // tree paging (Link header); 0 = 1000
	Latency          time.Duration // added to every request on both listeners
	BandwidthPerConn int64         // bytes/s per CDN connection; 0 = unlimited
	URLTTL           time.Duration // signed CDN URLs expire after this; 0 = 1h
	Tokens           []string      // tokens accepted for gated/private repos
	// RejectInvalidTokens answers 401 "Invalid credentials" to any request
	// whose bearer token is not in Tokens, as the real Hub does for a
	// mistyped or revoked token (by default it is treated as a valid token
	// without access).
	RejectInvalidTokens bool
}

// Counter keys reported by Counts.
const (
	CountModelInfo   = "model_info"
	CountTree        = "tree"
	CountRefs        = "refs"
	CountResolveHead = "resolve_head"
	CountResolveGet  = "resolve_get"
	CountCDNGet      = "cdn_get"
	CountCDNHead     = "cdn_head"
	CountCDNBytes    = "cdn_bytes"
	Count429         = "status_429"
	Count5xx         = "status_5xx"
	CountConnsAPI    = "conns_api"
	CountConnsCDN    = "conns_cdn"
)

// Hub is a running local Hub. It is safe for concurrent use.
type Hub struct {
	opts    Options
	api     *http.Server
	cdn     *http.Server
	apiLn   net.Listener
	cdnLn   net.Listener
	key     []byte // HMAC key for signed CDN URLs
	shas    *shaCache
	faults  faultQueue
	mu      sync.Mutex
	counts  map[string]*atomic.Int64
	lastCDN http.Header
}

// Start listens on both addresses and serves until Close.
func Start(opts Options) (*Hub, error) {
	if opts.Root == "" {
		return nil, errors.New("localhub: Options.Root is required")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.CDNAddr == "" {
		opts.CDNAddr = "127.0.0.1:0"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.URLTTL <= 0 {
		opts.URLTTL = time.Hour
	}
	h := &Hub{opts: opts, key: make([]byte, 32), shas: newSHACache(), counts: map[string]*atomic.Int64{}}
	for _, k := range []string{CountModelInfo, CountTree, CountRefs, CountResolveHead, CountResolveGet,
		CountCDNGet, CountCDNHead, CountCDNBytes, Count429, Count5xx, CountConnsAPI, CountConnsCDN} {
		h.counts[k] = new(atomic.Int64)
	}
	if _, err := rand.Read(h.key); err != nil {
		return nil, fmt.Errorf("localhub: signing key: %w", err)
	}
	apiLn, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("localhub: API listener: %w", err)
	}
	cdnLn, err := net.Listen("tcp", opts.CDNAddr)
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("localhub: CDN listener: %w", err)
	}
	h.apiLn = &countingListener{Listener: apiLn, n: h.counts[CountConnsAPI]}
	h.cdnLn = &countingListener{Listener: cdnLn, n: h.counts[CountConnsCDN], rate: opts.BandwidthPerConn}
	h.api = &http.Server{Handler: h.withLatency(http.HandlerFunc(h.serveAPI)), ReadHeaderTimeout: 10 * time.Second}
	h.cdn = &http.Server{Handler: h.withLatency(http.HandlerFunc(h.serveCDN)), ReadHeaderTimeout: 10 * time.Second}
	go h.api.Serve(h.apiLn)
	go h.cdn.Serve(h.cdnLn)
	return h, nil
}

// URL is the API endpoint (what HF_ENDPOINT is set to), without a trailing slash.
func (h *Hub) URL() string { return "http://" + h.apiLn.Addr().String() }

// CDNURL is the base URL of the second listener that serves file bytes.
func (h *Hub) CDNURL() string { return "http://" + h.cdnLn.Addr().String() }

// Close stops both listeners and drops open connections.
func (h *Hub) Close() error {
	return errors.Join(h.api.Close(), h.cdn.Close())
}

// Counts returns a snapshot of the request counters (see the Count* keys).
func (h *Hub) Counts() map[string]int64 {
	out := make(map[string]int64, len(h.counts))
	for k, v := range h.counts {
		out[k] = v.Load()
	}
	return out
}

// ResetCounts zeroes every counter, so a test can measure one operation.
func (h *Hub) ResetCounts() {
	for _, v := range h.counts {
		v.Store(0)
	}
}

// LastCDNHeaders returns a copy of the request headers of the CDN's last request,
// so tests can assert that no Authorization header crossed hosts.
func (h *Hub) LastCDNHeaders() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastCDN.Clone()
}

func (h *Hub) count(key string, n int64) { h.counts[key].Add(n) }

// withLatency delays every request by Options.Latency, the way a far-away Hub does,
// so benchmarks measure round trips rather than loopback speed.
func (h *Hub) withLatency(next http.Handler) http.Handler {
	if h.opts.Latency <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(h.opts.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		next.ServeHTTP(w, r)
	})
}

// countingListener counts accepted connections and, for the CDN, wraps each one
// in a per-connection bandwidth cap.
type countingListener struct {
	net.Listener
	n    *atomic.Int64
	rate int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.n.Add(1)
	if l.rate > 0 {
		return &throttledConn{Conn: c, rate: float64(l.rate), tokens: float64(l.rate) / 20, last: time.Now()}, nil
	}
	return c, nil
}

// throttledConn paces writes with a token bucket (burst = 50 ms worth of bytes),
// emulating a CDN edge that caps each connection.
type throttledConn struct {
	net.Conn
	rate   float64
	tokens float64
	last   time.Time
}

func (c *throttledConn) Write(p []byte) (int, error) {
	written := 0
	burst := c.rate / 20
	if burst < 1024 {
		burst = 1024
	}
	for len(p) > 0 {
		n := min(len(p), 16<<10, int(burst))
		now := time.Now()
		c.tokens = min(burst, c.tokens+now.Sub(c.last).Seconds()*c.rate)
		c.last = now
		if c.tokens < float64(n) {
			time.Sleep(time.Duration((float64(n) - c.tokens) / c.rate * float64(time.Second)))
			c.tokens = float64(n)
			c.last = time.Now()
		}
		c.tokens -= float64(n)
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// Shutdown stops both listeners gracefully (tools/localhub uses it on SIGINT).
func (h *Hub) Shutdown(ctx context.Context) error {
	return errors.Join(h.api.Shutdown(ctx), h.cdn.Shutdown(ctx))
}
