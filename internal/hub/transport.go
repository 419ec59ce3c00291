package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fitbench/fitbench/internal/netx"
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
		if t.c.badToken {
			return nil, &Error{Kind: Unauthorized, Msg: "invalid token: HF_TOKEN (or $HF_HOME/token) contains a line break or another control character",
				Hint: "set HF_TOKEN to the token alone (hf_…), on one line, without quotes"}
		}
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

// withRetries makes one request, retrying connection errors, 5xx and 429
// (honouring Retry-After up to MaxRetryWait) with netx's shared loop. A failed
// name lookup or a missed deadline is reported at once: the user already
// waited a whole deadline, and no retry fixes a wrong host name.
func (c *Client) withRetries(ctx context.Context, method string, u *url.URL, hdr http.Header) (*http.Response, error) {
	policy := netx.Policy{Max: c.cfg.MaxRetries, Base: c.cfg.RetryBase, Cap: c.cfg.MaxRetryWait}
	var out *http.Response
	err := netx.Retry(ctx, policy, func(last bool) (netx.Verdict, error) {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return netx.Verdict{}, &Error{Kind: Refused, Msg: "invalid request", Err: errors.New(stripQueries(err.Error()))}
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := c.noFollow.Do(req)
		if err != nil {
			var he *Error
			if errors.As(err, &he) {
				return netx.Verdict{}, he // refused or offline: never retried
			}
			if ctx.Err() != nil {
				return netx.Verdict{}, ctx.Err()
			}
			if ne := c.netErr(u.Host, err); ne != nil {
				return netx.Verdict{}, ne
			}
			return netx.Verdict{Retry: true}, c.unreachable(u.Host, err)
		}
		if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500) || last {
			out = resp // a final 429/5xx goes to the caller, which maps it to RateLimited / Unreachable
			return netx.Verdict{}, nil
		}
		v := netx.Verdict{Retry: true}
		if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			v.After, v.Now = ra, ra == 0
		}
		drain(resp)
		return v, &Error{Kind: Unreachable, Status: resp.StatusCode, Msg: fmt.Sprintf("the Hub at %s answered HTTP %d", u.Host, resp.StatusCode)}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// netErr turns the failures that are final into their typed error: a missed
// deadline (naming the slow host) and a failed name lookup; nil otherwise.
func (c *Client) netErr(host string, err error) *Error {
	var slow *netx.SlowError
	if errors.As(err, &slow) {
		return &Error{Kind: Unreachable, Msg: c.redact(slow.Error()),
			Hint: "the server stopped sending or is overloaded; try again later, or check the network connection",
			Err:  slow}
	}
	if netx.IsNameResolution(err) {
		return &Error{Kind: Unreachable, Msg: fmt.Sprintf("cannot reach the Hub: the name %s does not resolve", hostOnly(host)),
			Hint: "check the network connection (offline?) and HF_ENDPOINT; set HF_HUB_OFFLINE=1 to work without the network",
			Err:  errors.New(c.redact(stripQueries(err.Error())))}
	}
	return nil
}

// bodyErr is the error of a failed body read of path: a deadline names the
// slow host; anything else is a connection that ended early.
func (c *Client) bodyErr(path string, err error) error {
	if ne := c.netErr("", err); ne != nil {
		return ne
	}
	return &Error{Kind: Unreachable, Msg: fmt.Sprintf("the connection ended early while reading %s", path), Err: errors.New(stripQueries(err.Error()))}
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
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

// drain reads a little of the body so the connection can be reused, then closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}
