package hub

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Kind classifies a Hub failure so callers can react (ask for a token, retry
// later, re-resolve) without parsing messages.
type Kind string

const (
	RepoNotFound     Kind = "RepoNotFound"
	Gated            Kind = "Gated"
	RevisionNotFound Kind = "RevisionNotFound"
	EntryNotFound    Kind = "EntryNotFound"
	RateLimited      Kind = "RateLimited"
	Unreachable      Kind = "Unreachable"
	Offline          Kind = "Offline"
	Unauthorized     Kind = "Unauthorized"
	// Expired is a CDN 403: the signed URL expired; resolve again.
	Expired Kind = "Expired"
	// Refused is the SSRF guard: a host neither configured nor redirected to.
	Refused Kind = "Refused"
	// BadResponse is any other unexpected answer (bad JSON, odd status).
	BadResponse Kind = "BadResponse"
	// NoVariant: the repo holds no GGUF model matching what was asked.
	NoVariant Kind = "NoVariant"
)

// Error is what every exported Client method returns on failure. Msg and Hint
// are written for the person at the terminal; neither ever contains a token
// nor a signed URL's query string.
type Error struct {
	Kind   Kind
	Status int // HTTP status, 0 when there was no response
	Msg    string
	Hint   string
	Err    error // underlying cause (already sanitized), may be nil
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is (or wraps) a *Error of kind k.
func IsKind(err error, k Kind) bool {
	var he *Error
	return errors.As(err, &he) && he.Kind == k
}

// errorFromResponse maps a non-success answer to a typed error. what names the
// object asked for ("repo org/x", "file a.gguf in org/x at main").
func (c *Client) errorFromResponse(resp *http.Response, repo, rev, file string) *Error {
	code := resp.Header.Get("X-Error-Code")
	status := resp.StatusCode
	page := c.public + "/" + repo
	e := &Error{Status: status}
	switch {
	case code == "GatedRepo":
		e.Kind = Gated
		if status == http.StatusForbidden {
			e.Msg = fmt.Sprintf("%s is gated and your token has not been granted access", repo)
		} else {
			e.Msg = fmt.Sprintf("%s is gated: you must be authenticated to download it", repo)
		}
		e.Hint = "accept the license on the model page (" + page + "), then set HF_TOKEN"
		if c.token != "" {
			e.Hint = "accept the license on the model page (" + page + ") with the account HF_TOKEN belongs to; the token was sent"
		}
	case code == "RepoNotFound" || (status == http.StatusNotFound && code == "" && repo != "" && file == "" && rev == ""):
		e.Kind = RepoNotFound
		e.Msg = fmt.Sprintf("repository %s not found (or it is private)", repo)
		e.Hint = "check the repo id; for a private repo set HF_TOKEN to a token that can read it"
		if c.token != "" {
			e.Hint = "check the repo id; HF_TOKEN was sent, so if the repo is private that token's account cannot read it"
		}
	case code == "RevisionNotFound":
		e.Kind = RevisionNotFound
		e.Msg = fmt.Sprintf("revision %q not found in %s", rev, repo)
		e.Hint = "use a branch name such as main, or a full commit sha"
	case code == "EntryNotFound" || (status == http.StatusNotFound && file != ""):
		e.Kind = EntryNotFound
		e.Msg = fmt.Sprintf("file %s not found in %s at %s", file, repo, rev)
		e.Hint = "list the repo's files with `fitbench analyze " + repo + " --list`"
	case status == http.StatusTooManyRequests:
		e.Kind = RateLimited
		e.Msg = "the Hub is rate limiting requests (HTTP 429)"
		e.Hint = "wait a minute and try again; authenticated requests (HF_TOKEN) get higher limits"
	case status >= 500:
		e.Kind = Unreachable
		e.Msg = fmt.Sprintf("the Hub at %s answered HTTP %d", hostOf(resp.Request), status)
		e.Hint = "the Hub may be having trouble; try again later"
	case status == http.StatusUnauthorized:
		e.Kind = Unauthorized
		e.Msg = "the Hub rejected the credentials (HTTP 401)"
		e.Hint = "set HF_TOKEN to a Hugging Face token that can read the repo"
		if c.token != "" {
			e.Msg = "the Hub rejected HF_TOKEN (HTTP 401): the token is invalid"
			e.Hint = "the token (HF_TOKEN or $HF_HOME/token) is mistyped, expired or revoked: create a new one at " +
				c.public + "/settings/tokens, or unset it for public repos"
		}
	case status == http.StatusForbidden && resp.Request != nil && c.endpoint != nil && resp.Request.URL.Host != c.endpoint.Host:
		e.Kind = Expired
		e.Msg = "the download URL was refused by the CDN (expired signature)"
		e.Hint = "resolve the file again"
	default:
		e.Kind = BadResponse
		e.Msg = fmt.Sprintf("unexpected answer from the Hub: HTTP %d", status)
	}
	if m := resp.Header.Get("X-Error-Message"); m != "" && e.Kind != BadResponse {
		e.Err = errors.New(c.redact(m))
	}
	return e
}

func hostOf(r *http.Request) string {
	if r == nil || r.URL == nil {
		return "?"
	}
	return r.URL.Host
}

// redact removes the token, and credentials written into HF_ENDPOINT
// (http://user:secret@host), from s, in case a server or an error echoed them.
func (c *Client) redact(s string) string {
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "***")
	}
	if c.userinfo != "" {
		s = strings.ReplaceAll(s, c.userinfo+"@", "")
		if u, err := url.Parse(c.cfg.Endpoint); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				s = strings.ReplaceAll(s, pw, "***")
			}
			s = strings.ReplaceAll(s, u.User.Username()+":***@", "") // net/http's own masking
		}
	}
	return s
}

// unreachable wraps a transport error. The cause is re-created from its text
// with the token and URL query removed, so nothing secret survives in Unwrap.
func (c *Client) unreachable(host string, err error) *Error {
	return &Error{Kind: Unreachable,
		Msg:  fmt.Sprintf("cannot reach the Hub at %s", host),
		Hint: "check the network connection and HF_ENDPOINT",
		Err:  errors.New(c.redact(stripQueries(err.Error())))}
}

// stripQueries drops "?…" from URLs inside an error text (signed URLs carry
// credentials in their query).
func stripQueries(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '?')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexAny(s[i:], " \"'")
		if j < 0 {
			return b.String()
		}
		s = s[i+j:]
	}
}
