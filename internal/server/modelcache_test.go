package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/registry"
)

// The cached model list must follow every change, including one made by
// another process (here: a second handle on the same file, as the CLI would).
func TestModelListCacheFollowsOtherWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s, err := New(Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}, Deps{Registry: db})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	list := func() string {
		resp, err := http.Get(ts.URL + "/api/models")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/models: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	if body := list(); strings.Contains(body, "o/first") {
		t.Fatalf("empty registry listed a model: %s", body)
	}
	for i, id := range []string{"o/first:Q4_0", "o/second:Q8_0"} {
		if _, err := other.UpsertModel(ctx, &registry.Model{ModelID: id, Status: registry.StatusUntested}); err != nil {
			t.Fatal(err)
		}
		if body := list(); !strings.Contains(body, id) {
			t.Fatalf("step %d: %s missing from the list after another writer added it: %s", i, id, body)
		}
	}
	if err := other.SetStatus(ctx, "o/first:Q4_0", registry.StatusFailed, "disk full"); err != nil {
		t.Fatal(err)
	}
	if body := list(); !strings.Contains(body, "disk full") {
		t.Fatalf("status change not listed: %s", body)
	}
	if err := other.DeleteModel(ctx, "o/second:Q8_0"); err != nil {
		t.Fatal(err)
	}
	if body := list(); strings.Contains(body, "o/second") {
		t.Fatalf("deleted model still listed: %s", body)
	}
}
