package localhub

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// start serves a root with org/m-GGUF holding a real model, a README and a
// 64 KiB blob with known bytes.
func start(t *testing.T, opts Options) (*Hub, []byte) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "org", "m-GGUF")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Write(dir, "m-Q8_0", synth.Spec{Seed: 9}); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 64<<10)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	must(t, os.WriteFile(filepath.Join(dir, "sub", "blob.gguf"), blob, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "secret.txt"), []byte("TOPSECRET-CONTENT"), 0o644))
	opts.Root = root
	h, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, blob
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// noRedirect reads the 302 instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestShapes(t *testing.T) {
	h, _ := start(t, Options{PageSize: 2})
	resp, body := get(t, "GET", h.URL()+"/api/models/org/m-GGUF?blobs=true", nil)
	var info struct {
		ID       string
		SHA      string
		Gated    any
		Siblings []struct {
			RFilename string
			Size      int64
			LFS       *struct{ SHA256 string }
		}
		GGUF struct {
			Total         int64
			Architecture  string
			ContextLength int `json:"context_length"`
		}
	}
	must(t, json.Unmarshal(body, &info))
	if resp.StatusCode != 200 || info.ID != "org/m-GGUF" || len(info.SHA) != 40 || info.Gated != false || len(info.Siblings) != 3 {
		t.Fatalf("model info %d: %s", resp.StatusCode, body)
	}
	if info.GGUF.Architecture != "llama" || info.GGUF.Total == 0 || info.GGUF.ContextLength != 2048 {
		t.Errorf("gguf field = %+v", info.GGUF)
	}
	for _, s := range info.Siblings {
		if (s.LFS != nil) != strings.HasSuffix(s.RFilename, ".gguf") || s.Size == 0 {
			t.Errorf("sibling %+v", s)
		}
	}
	// Tree: 4 entries (sub/, README.md, m-Q8_0.gguf, sub/blob.gguf), 2 per page.
	resp, body = get(t, "GET", h.URL()+"/api/models/org/m-GGUF/tree/main?recursive=true", nil)
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `rel="next"`) || !strings.Contains(string(body), `"path":"README.md"`) {
		t.Fatalf("page 1: %s %s", link, body)
	}
	next := link[1:strings.Index(link, ">")]
	resp, body = get(t, "GET", next, nil)
	if resp.Header.Get("Link") != "" || !strings.Contains(string(body), "sub/blob.gguf") || !strings.Contains(string(body), `"type":"directory"`) {
		t.Errorf("page 2: %q %s", resp.Header.Get("Link"), body)
	}
	_, body = get(t, "GET", h.URL()+"/api/models/org/m-GGUF/tree/"+info.SHA+"/sub", nil)
	if !strings.Contains(string(body), "sub/blob.gguf") {
		t.Errorf("subdir tree at sha: %s", body)
	}
	resp, _ = get(t, "GET", h.URL()+"/api/models/org/m-GGUF/tree/nope", nil)
	if resp.StatusCode != 404 || resp.Header.Get("X-Error-Code") != "RevisionNotFound" {
		t.Errorf("bad revision: %d %q", resp.StatusCode, resp.Header.Get("X-Error-Code"))
	}
	_, body = get(t, "GET", h.URL()+"/api/models/org/m-GGUF/refs", nil)
	if !strings.Contains(string(body), info.SHA) {
		t.Errorf("refs: %s", body)
	}
	// Small files answer directly; traversal never escapes the root.
	resp, body = get(t, "GET", h.URL()+"/org/m-GGUF/resolve/main/README.md", nil)
	if resp.StatusCode != 200 || string(body) != "hello" || resp.Header.Get("X-Repo-Commit") != info.SHA {
		t.Errorf("README: %d %q", resp.StatusCode, body)
	}
	for _, p := range []string{"/org/m-GGUF/resolve/main/../../secret.txt", "/org/m-GGUF/resolve/main/%2e%2e/%2e%2e/secret.txt",
		"/org/../resolve/main/secret.txt", "/org/m-GGUF/resolve/main/.gated"} {
		resp, body = get(t, "GET", h.URL()+p, nil)
		if resp == nil || (resp.StatusCode != 404 && resp.StatusCode != 401) || strings.Contains(string(body), "TOPSECRET") {
			t.Errorf("%s: %v %s", p, resp, body)
		}
	}
	c := h.Counts()
	if c[CountModelInfo] != 1 || c[CountTree] != 4 || c[CountRefs] != 1 || c[CountResolveGet] < 2 {
		t.Errorf("counts = %v", c)
	}
}

// resolveURL returns the signed CDN URL of sub/blob.gguf.
func resolveURL(t *testing.T, h *Hub) string {
	t.Helper()
	resp, _ := get(t, "HEAD", h.URL()+"/org/m-GGUF/resolve/main/sub/blob.gguf", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("X-Linked-Size") != "65536" || len(resp.Header.Get("X-Linked-Etag")) != 66 {
		t.Fatalf("resolve: %d %v", resp.StatusCode, resp.Header)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, h.CDNURL()+"/") || !strings.Contains(loc, "sig=") || !strings.Contains(loc, "exp=") {
		t.Fatalf("location %s", loc)
	}
	return loc
}

func TestCDNFaults(t *testing.T) {
	h, blob := start(t, Options{BandwidthPerConn: 1 << 20})
	u := resolveURL(t, h)

	resp, body := get(t, "GET", u, map[string]string{"Range": "bytes=100-199"})
	if resp.StatusCode != 206 || string(body) != string(blob[100:200]) || resp.Header.Get("Content-Range") != "bytes 100-199/65536" {
		t.Fatalf("range: %d %v", resp.StatusCode, resp.Header)
	}
	h.Inject(Fault{Kind: "flip", Path: "blob.gguf", After: 150})
	_, body = get(t, "GET", u, map[string]string{"Range": "bytes=100-199"})
	if body[50] != blob[150]^0xFF || string(body[:50]) != string(blob[100:150]) || string(body[51:]) != string(blob[151:200]) {
		t.Error("flip did not flip exactly byte 150")
	}
	h.Inject(Fault{Kind: "ignore-range"})
	resp, body = get(t, "GET", u, map[string]string{"Range": "bytes=100-199"})
	if resp.StatusCode != 200 || len(body) != len(blob) {
		t.Errorf("ignore-range: %d, %d bytes", resp.StatusCode, len(body))
	}
	h.Inject(Fault{Kind: "drop", After: 1000})
	req, _ := http.NewRequest("GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n != 1000 {
		t.Errorf("drop: read %d bytes, err %v", n, err)
	}
	h.Inject(Fault{Kind: "expire"})
	if resp, _ := get(t, "GET", u, nil); resp.StatusCode != 403 {
		t.Errorf("expire: %d", resp.StatusCode)
	}
	if resp, _ := get(t, "GET", strings.Replace(u, "sig=", "sig=0", 1), nil); resp.StatusCode != 403 {
		t.Errorf("bad signature: %d", resp.StatusCode)
	}
	h.Inject(Fault{Kind: "429", RetryAfter: 7, Count: 2})
	for i := 0; i < 2; i++ {
		if resp, _ := get(t, "GET", u, nil); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
			t.Errorf("429 #%d: %d", i, resp.StatusCode)
		}
	}
	h.Inject(Fault{Kind: "500", Path: "other.gguf"})
	if resp, _ := get(t, "GET", u, map[string]string{"Authorization": "Bearer x"}); resp.StatusCode != 200 {
		t.Errorf("a fault for another path applied: %d", resp.StatusCode)
	}
	if h.LastCDNHeaders().Get("Authorization") != "Bearer x" {
		t.Error("LastCDNHeaders does not report what the CDN saw")
	}
	c := h.Counts()
	if c[Count429] != 2 || c[CountCDNGet] != 9 || c[CountCDNBytes] == 0 || c[CountConnsCDN] < 2 {
		t.Errorf("counts = %v", c)
	}
}

func TestAccess(t *testing.T) {
	h, _ := start(t, Options{Tokens: []string{"good"}})
	dir := filepath.Join(h.opts.Root, "org", "m-GGUF")
	must(t, os.WriteFile(filepath.Join(dir, ".gated"), nil, 0o644))
	cases := []struct {
		path, token string
		status      int
		code        string
	}{
		{"/api/models/org/m-GGUF", "", 200, ""},
		{"/org/m-GGUF/resolve/main/m-Q8_0.gguf", "", 401, "GatedRepo"},
		{"/org/m-GGUF/resolve/main/m-Q8_0.gguf", "bad", 403, "GatedRepo"},
		{"/org/m-GGUF/resolve/main/m-Q8_0.gguf", "good", 302, ""},
		{"/api/models/org/none", "", 401, "RepoNotFound"},
		{"/api/models/org/none", "good", 404, "RepoNotFound"},
	}
	for _, c := range cases {
		hdr := map[string]string{}
		if c.token != "" {
			hdr["Authorization"] = "Bearer " + c.token
		}
		resp, _ := get(t, "GET", h.URL()+c.path, hdr)
		if resp.StatusCode != c.status || resp.Header.Get("X-Error-Code") != c.code {
			t.Errorf("%s token %q: %d %q, want %d %q", c.path, c.token, resp.StatusCode, resp.Header.Get("X-Error-Code"), c.status, c.code)
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, ".private"), nil, 0o644))
	if resp, _ := get(t, "GET", h.URL()+"/api/models/org/m-GGUF", nil); resp.StatusCode != 401 || resp.Header.Get("X-Error-Code") != "RepoNotFound" {
		t.Errorf("private: %d", resp.StatusCode)
	}
	if resp, _ := get(t, "GET", h.URL()+"/api/models/org/m-GGUF", map[string]string{"Authorization": "Bearer good"}); resp.StatusCode != 200 {
		t.Errorf("private with token: %d", resp.StatusCode)
	}
	must(t, os.WriteFile(filepath.Join(dir, ".commit"), []byte("0123456789012345678901234567890123456789\n"), 0o644))
	if resp, _ := get(t, "GET", h.URL()+"/api/models/org/m-GGUF/revision/0123456789012345678901234567890123456789", map[string]string{"Authorization": "Bearer good"}); resp.StatusCode != 200 {
		t.Errorf(".commit revision: %d", resp.StatusCode)
	}
}
