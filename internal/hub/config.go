// Package hub is fitbench's Hugging Face Hub client: model info, tree listing,
// refs, resolve, variants of a GGUF repo and remote header reads over HTTP
// ranges. It keeps the token away from every host but the configured endpoint,
// contacts only that endpoint and the hosts it redirects to (SSRF), retries what
// is worth retrying, and turns Hub answers into typed, user-facing errors.
package hub

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/netx"
	"github.com/fitbench/fitbench/internal/version"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// Config is everything the client needs; ConfigFromEnv fills it like the
// official client does.
type Config struct {
	Endpoint   string // "https://huggingface.co" when empty
	Token      string // sent only to the endpoint's host
	Offline    bool   // HF_HUB_OFFLINE: every network call fails with KindOffline
	UserAgent  string // default version.UserAgent()
	HTTPClient *http.Client
	MaxRetries int // retries after the first attempt; 0 = 4, <0 = none

	// RetryBase is the first backoff delay (doubles each retry, with jitter);
	// 0 = 500ms. MaxRetryWait caps any single wait, including Retry-After;
	// 0 = 30s.
	RetryBase    time.Duration
	MaxRetryWait time.Duration

	// Deadlines bound connect, first byte and the minimum body rate of every
	// request (zero fields: netx's defaults), so a Hub or CDN that stops
	// sending fails with a message naming it instead of holding a header read
	// for minutes (issue 14.3). They apply to a given HTTPClient's transport too.
	Deadlines netx.Deadlines

	// MaxTreeEntries bounds a repo's file listing; 0 = DefaultMaxTreeEntries.
	MaxTreeEntries int
}

// ConfigFromEnv reads HF_ENDPOINT, HF_TOKEN (which wins over $HF_HOME/token,
// HF_HOME defaulting to ~/.cache/huggingface) and HF_HUB_OFFLINE.
func ConfigFromEnv() Config {
	c := Config{Endpoint: strings.TrimSpace(os.Getenv("HF_ENDPOINT"))}
	c.Token = strings.TrimSpace(os.Getenv("HF_TOKEN"))
	if c.Token == "" {
		home := os.Getenv("HF_HOME")
		if home == "" {
			if h, err := os.UserHomeDir(); err == nil {
				home = filepath.Join(h, ".cache", "huggingface")
			}
		}
		if home != "" {
			if b, err := os.ReadFile(filepath.Join(home, "token")); err == nil {
				c.Token = strings.TrimSpace(string(b))
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(os.Getenv("HF_HUB_OFFLINE"))) {
	case "1", "true", "yes", "on":
		c.Offline = true
	}
	return c
}

// Client talks to one Hub endpoint. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint *url.URL
	token    string
	ua       string
	rt       http.RoundTripper // guardedTransport: SSRF check + auth
	noFollow *http.Client      // used by the client's own calls (manual redirects)
	follow   *http.Client      // handed to the downloader via HTTPClient()

	mu      sync.Mutex
	allowed map[string]bool // hosts the endpoint redirected us to

	public   string // the endpoint without user:password@, for messages and links
	userinfo string // user:password from HF_ENDPOINT, never shown
	badToken bool   // the token holds control characters: never sent
}

// New builds a client. An unparsable endpoint makes every call fail with a
// clear error rather than contacting anything.
func New(cfg Config) *Client {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if cfg.UserAgent == "" {
		cfg.UserAgent = version.UserAgent()
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 500 * time.Millisecond
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = 30 * time.Second
	}
	if cfg.MaxTreeEntries <= 0 {
		cfg.MaxTreeEntries = DefaultMaxTreeEntries
	}
	c := &Client{cfg: cfg, token: cfg.Token, ua: cfg.UserAgent, allowed: map[string]bool{}}
	c.public = cfg.Endpoint
	if u, err := url.Parse(cfg.Endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		c.endpoint = u
		if u.User != nil {
			c.userinfo = u.User.String()
			pub := *u
			pub.User = nil
			c.public = pub.String()
		}
	} else if err != nil || strings.Contains(cfg.Endpoint, "@") {
		c.public = "(HF_ENDPOINT)" // unparsable: do not echo what may hold a password
	}
	// A token with a line break (a pasted file with CRLF, two tokens) would be
	// refused by net/http on every request, each retried as a network error
	// ("cannot reach the Hub" after 6.5 s); say what is wrong at once.
	c.badToken = strings.IndexFunc(cfg.Token, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
	var base http.RoundTripper
	var timeout time.Duration
	if cfg.HTTPClient != nil {
		base, timeout = cfg.HTTPClient.Transport, cfg.HTTPClient.Timeout
	}
	if base == nil {
		base = defaultTransport(cfg.Deadlines)
	}
	c.rt = &guardedTransport{c: c, base: &netx.Transport{Base: base, D: cfg.Deadlines}}
	c.noFollow = &http.Client{Transport: c.rt, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.follow = &http.Client{Transport: c.rt, Timeout: timeout, CheckRedirect: c.checkRedirect}
	return c
}

// defaultTransport keeps connections alive (header reads and parallel download
// parts reuse them) and bounds connecting; netx.Transport above it bounds the
// first byte and the rate.
func defaultTransport(d netx.Deadlines) *http.Transport {
	d = d.WithDefaults()
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           netx.Dialer(d).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   d.Connect,
		ExpectContinueTimeout: time.Second,
	}
}

// Endpoint returns the configured endpoint URL without a trailing slash.
// Credentials written into HF_ENDPOINT are left out.
func (c *Client) Endpoint() string { return c.public }

// HTTPClient returns an *http.Client with the same rules as the Client's own
// calls: only allowed hosts, Authorization only to the endpoint's host, redirects
// from the endpoint followed (and their hosts allowed). For the downloader.
func (c *Client) HTTPClient() *http.Client { return c.follow }
