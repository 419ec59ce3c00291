package hub

// Issue 14.6: credentials in HF_ENDPOINT never echoed; a wrong token gets a
// hint about the token, not "set HF_TOKEN"; a token with CR/LF is an invalid
// token at once.

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

func TestEndpointCredentialsNeverEchoed(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	u, _ := url.Parse(f.hub.URL())
	u.User = url.UserPassword("alice", "s3cretPW")
	c := New(Config{Endpoint: u.String(), MaxRetries: -1})
	if strings.Contains(c.Endpoint(), "s3cretPW") || strings.Contains(c.Endpoint(), "alice") {
		t.Errorf("Endpoint() = %q", c.Endpoint())
	}
	ctx := context.Background()
	var msgs []string
	if _, err := c.Variants(ctx, "org/gated-GGUF", ""); err != nil {
		msgs = append(msgs, err.Error())
	}
	l, err := c.Variants(ctx, "org/gated-GGUF", "")
	if err == nil {
		_, err = c.ReadHeaders(ctx, "org/gated-GGUF", l.Commit, l.Variants[0])
		var he *Error
		if !asError(err, &he) || he.Kind != Gated {
			t.Fatalf("gated header read: %v", err)
		}
		msgs = append(msgs, he.Msg, he.Hint, errString(he.Err))
	}
	// An unreachable endpoint with credentials: the transport's own error text.
	dead := New(Config{Endpoint: "http://alice:s3cretPW@127.0.0.1:1", MaxRetries: -1})
	if _, err := dead.ModelInfo(ctx, "org/model-GGUF", ""); err != nil {
		var he *Error
		if !asError(err, &he) {
			t.Fatalf("unreachable endpoint: %v", err)
		}
		msgs = append(msgs, err.Error(), he.Hint, errString(he.Err))
	}
	for _, m := range msgs {
		if strings.Contains(m, "s3cretPW") || strings.Contains(m, "alice") {
			t.Errorf("a message shows HF_ENDPOINT's credentials: %q", m)
		}
	}
	if len(msgs) < 4 {
		t.Errorf("too few messages checked: %q", msgs)
	}
}

func TestWrongTokenHint(t *testing.T) {
	f := newFixture(t, localhub.Options{RejectInvalidTokens: true})
	c := New(Config{Endpoint: f.hub.URL(), Token: "hf_mistyped000", MaxRetries: -1})
	_, err := c.Variants(context.Background(), "org/model-GGUF", "")
	var he *Error
	if !asError(err, &he) || he.Kind != Unauthorized {
		t.Fatalf("wrong token: %v", err)
	}
	if strings.Contains(he.Hint, "set HF_TOKEN to a") || !strings.Contains(he.Hint, "mistyped, expired or revoked") ||
		strings.Contains(he.Msg+he.Hint, "hf_mistyped000") {
		t.Errorf("wrong token: %q / hint %q", he.Msg, he.Hint)
	}
	// A token the Hub accepts but whose account has no access to a gated
	// repo (localhub: a token not in Tokens, without RejectInvalidTokens).
	f2 := newFixture(t, localhub.Options{})
	c2 := New(Config{Endpoint: f2.hub.URL(), Token: "hf_other", MaxRetries: -1})
	l, err := c2.Variants(context.Background(), "org/gated-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.ReadHeaders(context.Background(), "org/gated-GGUF", l.Commit, l.Variants[0])
	if !asError(err, &he) || he.Kind != Gated || strings.Contains(he.Hint, "then set HF_TOKEN") {
		t.Errorf("gated with a token: %v", err)
	}
}

func TestTokenWithLineBreakIsInvalidAtOnce(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	c := New(Config{Endpoint: f.hub.URL(), Token: goodToken + "\r\nX-Evil: 1", RetryBase: time.Second})
	start := time.Now()
	_, err := c.Variants(context.Background(), "org/model-GGUF", "")
	var he *Error
	if !asError(err, &he) || he.Kind != Unauthorized || !strings.Contains(he.Msg, "invalid token") {
		t.Fatalf("token with CR/LF: %v", err)
	}
	if strings.Contains(he.Msg+he.Hint, goodToken) {
		t.Errorf("the token is echoed: %q", he.Msg)
	}
	if n := f.hub.Counts()[localhub.CountModelInfo] + f.hub.Counts()[localhub.CountTree]; n != 0 {
		t.Errorf("%d requests reached the Hub", n)
	}
	t.Logf("refused in %v", time.Since(start))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
