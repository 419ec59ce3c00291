package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

func asError(err error, he **Error) bool { return errors.As(err, he) }

// checkErr asserts err is a *Error of kind k and that nothing in it (message,
// hint, wrapped causes, %+v rendering) contains the token.
func checkErr(t *testing.T, err error, k Kind, status int) *Error {
	t.Helper()
	var he *Error
	if !asError(err, &he) {
		t.Fatalf("error %v (%T) is not a *hub.Error", err, err)
	}
	if he.Kind != k || (status != 0 && he.Status != status) {
		t.Fatalf("got kind %s status %d (%q), want %s %d", he.Kind, he.Status, he.Msg, k, status)
	}
	for e := error(he); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), goodToken) || strings.Contains(e.Error(), "wrong-token-xyz") {
			t.Fatalf("token leaked in error: %q", e.Error())
		}
	}
	if s := fmt.Sprintf("%+v %#v", he, he); strings.Contains(s, goodToken) || strings.Contains(he.Hint, goodToken) {
		t.Fatalf("token leaked in error rendering: %s", s)
	}
	if he.Msg == "" {
		t.Fatal("empty message")
	}
	return he
}

func TestErrorsAndAccess(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	ctx := context.Background()
	anon, authed, wrong := f.client(""), f.client(goodToken), f.client("wrong-token-xyz")

	_, err := anon.ModelInfo(ctx, "org/missing", "")
	checkErr(t, err, RepoNotFound, 401)
	_, err = authed.Variants(ctx, "org/missing", "")
	checkErr(t, err, RepoNotFound, 404)
	_, err = anon.Variants(ctx, "org/private-GGUF", "")
	checkErr(t, err, RepoNotFound, 401)
	if l, err := authed.Variants(ctx, "org/private-GGUF", ""); err != nil || len(l.Variants) != 1 {
		t.Fatalf("private repo with token: %v", err)
	}

	// Gated: listing is public, the file is not.
	l, err := anon.Variants(ctx, "org/gated-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	file := l.Variants[0].Files[0].Path
	_, err = anon.Resolve(ctx, "org/gated-GGUF", l.Commit, file)
	he := checkErr(t, err, Gated, 401)
	if !strings.Contains(he.Hint, "accept the license") || !strings.Contains(he.Hint, "HF_TOKEN") {
		t.Errorf("gated hint = %q", he.Hint)
	}
	_, err = wrong.Resolve(ctx, "org/gated-GGUF", l.Commit, file)
	checkErr(t, err, Gated, 403)
	if _, err := authed.ReadHeaders(ctx, "org/gated-GGUF", l.Commit, l.Variants[0]); err != nil {
		t.Fatalf("gated with token: %v", err)
	}
	_, err = wrong.ReadHeaders(ctx, "org/gated-GGUF", l.Commit, l.Variants[0])
	checkErr(t, err, Gated, 403)

	_, err = anon.Variants(ctx, "org/model-GGUF", "0123456789abcdef0123456789abcdef01234567")
	checkErr(t, err, RevisionNotFound, 404)
	_, err = anon.Resolve(ctx, "org/model-GGUF", "main", "nope.gguf")
	checkErr(t, err, EntryNotFound, 404)
	for _, bad := range []string{"../../etc/passwd", "/etc/passwd", "a/../../b.gguf", "x\x00.gguf"} {
		_, err = anon.Resolve(ctx, "org/model-GGUF", "main", bad)
		checkErr(t, err, EntryNotFound, 0)
	}
	_, err = anon.ModelInfo(ctx, "org/../../x", "")
	checkErr(t, err, RepoNotFound, 0)

	// Unreachable: a closed port, retried, then a typed error.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	dead := New(Config{Endpoint: "http://" + addr, Token: goodToken, RetryBase: time.Millisecond, MaxRetries: 2})
	_, err = dead.ModelInfo(ctx, "org/model-GGUF", "")
	checkErr(t, err, Unreachable, 0)
}

func TestRetries(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	ctx := context.Background()
	c := f.client(goodToken)

	f.hub.Inject(localhub.Fault{Kind: "429", RetryAfter: 1})
	start := time.Now()
	if _, err := c.ModelInfo(ctx, "org/model-GGUF", ""); err != nil {
		t.Fatal(err)
	}
	// RetryBase is 1ms: only honouring Retry-After explains a second's wait.
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, Retry-After said 1s", waited)
	}
	n := f.hub.Counts()
	if n[localhub.Count429] != 1 || n[localhub.CountModelInfo] != 2 {
		t.Errorf("counts after 429: %v", n)
	}

	f.hub.ResetCounts()
	f.hub.Inject(localhub.Fault{Kind: "500", Count: 2})
	if _, err := c.Tree(ctx, "org/model-GGUF", "main", ""); err != nil {
		t.Fatal(err)
	}
	if n := f.hub.Counts(); n[localhub.Count5xx] != 2 || n[localhub.CountTree] != 3 {
		t.Errorf("counts after 500s: %v", n)
	}

	f.hub.Inject(localhub.Fault{Kind: "429", Count: 3})
	few := New(Config{Endpoint: f.hub.URL(), RetryBase: time.Millisecond, MaxRetries: 2})
	_, err := few.Refs(ctx, "org/model-GGUF")
	checkErr(t, err, RateLimited, 429)
	f.hub.Inject(localhub.Fault{Kind: "500", Count: 3})
	_, err = few.Refs(ctx, "org/model-GGUF")
	checkErr(t, err, Unreachable, 500)
}

func TestCDNRedirectDropsAuthorization(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	ctx := context.Background()
	c := f.client(goodToken)
	r, err := c.Resolve(ctx, "org/private-GGUF", "main", "model-Q4_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.URL, f.hub.CDNURL()+"/") {
		t.Fatalf("resolved URL %s is not on the CDN %s", r.URL, f.hub.CDNURL())
	}
	path := filepath.Join(f.root, "org", "private-GGUF", "model-Q4_0.gguf")
	st, _ := os.Stat(path)
	if r.Size != st.Size() || r.SHA256 != fileSHA256(t, path) || len(r.Commit) != 40 {
		t.Errorf("resolved = %+v", r)
	}
	resp, err := c.Get(ctx, r.URL, 4, 11)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := os.ReadFile(path)
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(want[4:12]) {
		t.Errorf("range GET: %d %q", resp.StatusCode, body)
	}
	h := f.hub.LastCDNHeaders()
	if h.Get("Authorization") != "" {
		t.Errorf("the CDN saw Authorization: %q", h.Get("Authorization"))
	}
	if !strings.HasPrefix(h.Get("User-Agent"), "fitbench/") {
		t.Errorf("User-Agent at the CDN = %q", h.Get("User-Agent"))
	}
	// The same client through HTTPClient() keeps the rule.
	resp, err = c.HTTPClient().Get(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if f.hub.LastCDNHeaders().Get("Authorization") != "" {
		t.Error("HTTPClient() sent Authorization to the CDN")
	}
}

func TestSSRFRefusal(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	ctx := context.Background()
	var hits atomic.Int64
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go other.Serve(ln)
	t.Cleanup(func() { other.Close() })
	otherURL := "http://" + ln.Addr().String() + "/secret"

	c := f.client(goodToken)
	_, err = c.Get(ctx, otherURL, 0, -1)
	checkErr(t, err, Refused, 0)
	if _, err := c.HTTPClient().Get(otherURL); !IsKind(err, Refused) {
		t.Errorf("HTTPClient() to another host: %v", err)
	}
	// The CDN is allowed only once the endpoint has redirected there.
	_, err = c.Get(ctx, f.hub.CDNURL()+"/repos/org/model-GGUF/x/y", 0, -1)
	checkErr(t, err, Refused, 0)
	_, err = c.Get(ctx, "file:///etc/passwd", 0, -1)
	checkErr(t, err, Refused, 0)
	if hits.Load() != 0 {
		t.Fatalf("the other host was contacted %d times", hits.Load())
	}
	if _, err := c.Resolve(ctx, "org/model-GGUF", "main", "model-Q8_0.gguf"); err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Get(ctx, f.hub.CDNURL()+"/repos/org/model-GGUF/x/y", 0, -1); err == nil || IsKind(err, Refused) {
		t.Errorf("after a redirect the CDN host should be reachable (and answer 403): %v %v", resp, err)
	}
}

func TestOffline(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	c := New(Config{Endpoint: f.hub.URL(), Offline: true})
	ctx := context.Background()
	_, err := c.Variants(ctx, "org/model-GGUF", "")
	checkErr(t, err, Offline, 0)
	_, err = c.Resolve(ctx, "org/model-GGUF", "main", "model-Q8_0.gguf")
	checkErr(t, err, Offline, 0)
	if n := f.hub.Counts(); n[localhub.CountModelInfo]+n[localhub.CountResolveHead]+n[localhub.CountConnsAPI] != 0 {
		t.Errorf("offline client reached the hub: %v", n)
	}
}

func TestConfigFromEnv(t *testing.T) {
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "token"), "hf_fromfile\n")
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	c := ConfigFromEnv()
	if c.Token != "hf_fromfile" || c.Endpoint != "http://127.0.0.1:1" || !c.Offline {
		t.Errorf("config = %+v", c)
	}
	t.Setenv("HF_TOKEN", "hf_fromenv")
	t.Setenv("HF_HUB_OFFLINE", "0")
	if c := ConfigFromEnv(); c.Token != "hf_fromenv" || c.Offline {
		t.Errorf("HF_TOKEN must win over the token file: %+v", c)
	}
}
