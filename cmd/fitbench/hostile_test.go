package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/localhub"
)

// snapshot lists every path under dir (to prove nothing was written).
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// TestInstallRefusesHostileNames: file names in a listing that would escape
// the data directory are refused before anything is written.
//
// A filesystem cannot hold "../../x.gguf", "/abs/x.gguf" or a NUL, so the real
// localhub cannot list them; a reverse proxy in front of it rewrites the tree
// listing's file name (the only fake part, standing in for a hostile Hub).
// A backslash name is real: localhub serves it from disk.
func TestInstallRefusesHostileNames(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	f.model("testorg/Evil-GGUF", "Evil-Q8_0", withType(small, gguf.TypeQ8_0))
	real := f.hub.URL()
	target, _ := url.Parse(real)
	var hostile atomic.Value // string; read by the proxy's goroutines
	hostile.Store("")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "/tree/") && !strings.HasPrefix(resp.Request.URL.Path, "/api/models/") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		enc, _ := json.Marshal(hostile.Load().(string))
		b = bytes.ReplaceAll(b, []byte(`"Evil-Q8_0.gguf"`), enc)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	outside := t.TempDir() // a sibling the traversal would reach
	f.home = filepath.Join(outside, "a", "b", "home")
	os.MkdirAll(f.home, 0o755)
	f.ok("", "list") // creates the data directory
	before := snapshot(t, outside)
	for _, name := range []string{"../../x-Q8_0.gguf", "../../../x-Q8_0.gguf", "/tmp/x-Q8_0.gguf",
		"a/../../b-Q8_0.gguf", "x\x00-Q8_0.gguf", "./x-Q8_0.gguf", "a//x-Q8_0.gguf", `..\..\x-Q8_0.gguf`} {
		hostile.Store(name)
		r := f.runEnv([]string{"HF_ENDPOINT=" + srv.URL}, "", "install", "testorg/Evil-GGUF:Q8_0", "--no-bench")
		if r.code == 0 {
			t.Errorf("%q: install succeeded: %s", name, r)
			continue
		}
		if !strings.Contains(r.stderr, "unsafe") && !strings.Contains(r.stderr, "invalid") {
			t.Errorf("%q: unclear error: %s", name, r)
		}
		t.Logf("%q: %s", name, strings.TrimSpace(r.stderr))
		if strings.Contains(r.stderr, "panic") {
			t.Errorf("%q: panic: %s", name, r)
		}
	}
	if after := snapshot(t, outside); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("files appeared:\nbefore %v\nafter  %v", before, after)
	}
	if rows := f.list(); len(rows) != 0 {
		t.Errorf("a hostile listing was registered: %v", rows)
	}

	// A real file whose name holds backslashes, served by localhub from disk.
	f.model("testorg/Slash-GGUF", `x\..\..\Slash-Q8_0`, withType(small, gguf.TypeQ8_0))
	r := f.run("", "install", "testorg/Slash-GGUF:Q8_0", "--no-bench")
	if r.code == 0 || !strings.Contains(r.stderr, "unsafe") {
		t.Errorf("backslash name: %s", r)
	}
	if after := snapshot(t, outside); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("files appeared:\nbefore %v\nafter  %v", before, after)
	}
}
