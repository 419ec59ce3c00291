package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/registry"
)

func TestNewRefusesExposedAddrWithoutToken(t *testing.T) {
	db, err := registry.Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := []struct {
		addr, token string
		wantErr     bool
	}{
		{"127.0.0.1:4080", "", false},
		{"localhost:4080", "", false},
		{"[::1]:4080", "", false},
		{"", "", false}, // default is loopback
		{"0.0.0.0:4080", "", true},
		{":4080", "", true},
		{"[::]:4080", "", true},
		{"192.168.1.20:4080", "", true},
		{"0.0.0.0:4080", "s3cret", false},
	}
	for _, c := range cases {
		_, err := New(Config{Addr: c.addr, Token: c.token}, Deps{Registry: db})
		if (err != nil) != c.wantErr {
			t.Errorf("New(addr %q, token %q): err %v, want error %v", c.addr, c.token, err, c.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "token") {
			t.Errorf("error %q does not say a token is needed", err)
		}
	}
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("New without a registry: no error")
	}
}

func TestToken(t *testing.T) {
	e := newEnv(t, 0, Config{Addr: "0.0.0.0:4080", Token: "s3cret", AllowedHosts: []string{"fitbench.lan"}})
	base := e.http.URL
	for _, sc := range []scenario{
		{name: "no token", method: "GET", url: "/api/models", status: 401, contains: []string{"token is required", "?token="}},
		{name: "no token page", method: "GET", url: "/add-model.html", status: 401},
		{name: "wrong token", method: "GET", url: "/api/models", headers: map[string]string{"Authorization": "Bearer nope"}, status: 401},
		{name: "bearer", method: "GET", url: "/api/models", headers: map[string]string{"Authorization": "Bearer s3cret"}, status: 200},
		{name: "query sets cookie", method: "GET", url: "/add-model.html?token=s3cret", status: 200,
			respHdr: map[string]string{"Set-Cookie": "fitbench_token=s3cret"}},
		{name: "cookie", method: "GET", url: "/api/models", headers: map[string]string{"Cookie": "fitbench_token=s3cret"}, status: 200},
		{name: "healthz open", method: "GET", url: "/healthz", status: 200},
		{name: "configured host", method: "GET", url: "/healthz", headers: map[string]string{"Host": "fitbench.lan:4080"}, status: 200},
		{name: "other host", method: "GET", url: "/healthz", headers: map[string]string{"Host": "other.lan:4080"}, status: 403},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, base) })
	}
}

func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	var stderr strings.Builder
	lg, closer, err := NewLogger(dir, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	db, err := registry.Open(filepath.Join(dir, "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(Config{DataDir: dir}, Deps{Registry: db, Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/api/models/404?token=do-not-log", nil)
	req.Host = "127.0.0.1:4080"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	closer.Close()
	b, err := os.ReadFile(filepath.Join(dir, "logs", "api.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, want := range []string{"path=/api/models/404", "status=404", "request failed"} {
		if !strings.Contains(log, want) {
			t.Errorf("api.log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "do-not-log") || strings.Contains(stderr.String(), "do-not-log") {
		t.Error("the query string (which may hold the token) was logged")
	}
	if !strings.Contains(stderr.String(), "status=404") {
		t.Error("nothing logged to stderr")
	}
}
