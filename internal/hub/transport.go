package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// guardedTransport is the one place that decides where requests may go and what
// they carry: only the endpoint's host and hosts the endpoint redirected to
// (SSRF), the token only to the endpoint's host, the User-Agent everywhere.
// Because it sits under every http.Client the package hands out, no caller can
// forget the rules.
type guardedTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.c.checkHost(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.c.ua)
	r.Header.Del("Authorization")
	if t.c.token != "" && r.URL.Host == t.c.endpoint.Host && r.URL.Scheme == t.c.endpoint.Scheme {
		r.Header.Set("Authorization", "Bearer "+t.c.token)
	}
	return t.base.RoundTrip(r)
}

// checkHost refuses anything but the endpoint and hosts it redirected to.
func (c *Client) checkHost(u *url.URL) error {
	if c.cfg.Offline {
		return c.offlineErr()
	}
	if c.endpoint == nil {
		return &Error{Kind: Refused, Msg: "HF_ENDPOINT is not a valid http(s) URL", Hint: "set HF_ENDPOINT to e.g. https://huggingface.co"}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &Error{Kind: Refused, Msg: fmt.Sprintf("refusing to fetch a %q URL", u.Scheme)}
	}
	if u.Host == c.endpoint.Host {
		return nil
	}
	c.mu.Lock()
	ok := c.allowed[u.Host]
	c.mu.Unlock()
	if !ok {
		return &Error{Kind: Refused,
			Msg:  fmt.Sprintf("refusing to contact %s: only %s and the hosts it redirects to are allowed", u.Host, c.endpoint.Host),
			Hint: "fitbench only downloads from the configured Hub (HF_ENDPOINT)"}
	}
	return nil
}

func (c *Client) offlineErr() *Error {
	return &Error{Kind: Offline, Msg: "offline mode is on (HF_HUB_OFFLINE): not contacting the Hub",
		Hint: "unset HF_HUB_OFFLINE to analyze or download models from the Hub"}
}

// allowRedirect records a redirect target; only redirects issued by the endpoint
// itself extend the set of allowed hosts.
func (c *Client) allowRedirect(from, to *url.URL) error {
	if to.Host == from.Host {
		return nil
	}
	if c.endpoint == nil || from.Host != c.endpoint.Host {
		return &Error{Kind: Refused, Msg: fmt.Sprintf("refusing redirect from %s to %s", from.Host, to.Host)}
	}
	c.mu.Lock()
	c.allowed[to.Host] = true
	c.mu.Unlock()
	return nil
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("too many redirects")
	}
	return c.allowRedirect(via[len(via)-1].URL, req.URL)
}

// request performs one logical request with retries on connection errors, 5xx
// and 429 (honouring Retry-After up to MaxRetryWait). Redirects on the same host
// (renames) are followed; a redirect to another host is followed only when
// follow is true, otherwise returned (Resolve reads its Location). hdr may carry
// Range. The caller closes the body of the returned response.
func (c *Client) request(ctx context.Context, method, rawURL string, hdr http.Header, follow bool) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &Error{Kind: Refused, Msg: "invalid URL", Err: errors.New(stripQueries(err.Error()))}
	}
	for hops := 0; ; hops++ {
		resp, err := c.withRetries(ctx, method, u, hdr)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return resp, nil
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			resp.Body.Close()
			return nil, &Error{Kind: BadResponse, Status: resp.StatusCode, Msg: "the Hub sent an invalid redirect"}
		}
		if next.Host != u.Host && !follow {
			if err := c.allowRedirect(u, next); err != nil {
				resp.Body.Close()
				return nil, err
			}
			return resp, nil
		}
		drain(resp)
		if hops >= 10 {
			return nil, &Error{Kind: BadResponse, Status: resp.StatusCode, Msg: "too many redirects from the Hub"}
		}
		if err := c.allowRedirect(u, next); err != nil {
			return nil, err
		}
		u = next
	}
}

func (c *Client) withRetries(ctx context.Context, method string, u *url.URL, hdr http.Header) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, &Error{Kind: Refused, Msg: "invalid request", Err: errors.New(stripQueries(err.Error()))}
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := c.noFollow.Do(req)
		last := attempt >= c.cfg.MaxRetries
		if err != nil {
			var he *Error
			if errors.As(err, &he) {
				return nil, he // refused or offline: never retried
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if last {
				return nil, c.unreachable(u.Host, err)
			}
			if err := sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return resp, nil
		}
		if last {
			return resp, nil // the caller maps it to RateLimited / Unreachable
		}
		wait := c.backoff(attempt)
		if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			wait = min(ra, c.cfg.MaxRetryWait)
		}
		drain(resp)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is exponential with full jitter in [d/2, d), capped.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryBase << min(attempt, 10)
	d = min(d, c.cfg.MaxRetryWait)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain reads a little of the body so the connection can be reused, then closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}
