// Package ollamatest starts a real Ollama server (the CPU build made by
// scripts/build-ollama.sh) for tests: on a free loopback port, with a temporary
// model directory, its log captured, and stopped when the test ends.
//
// When the binary is missing the test is skipped with a message saying how to
// build it — unless FITBENCH_REQUIRE_ENGINE=1 (set by `make test` in CI), in which
// case it fails: tests that need the engine must run in CI, never skip there.
package ollamatest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running `ollama serve`.
type Server struct {
	URL       string // http://127.0.0.1:PORT
	Host      string // 127.0.0.1:PORT (for OLLAMA_HOST)
	ModelsDir string
	Cmd       *exec.Cmd

	mu  sync.Mutex
	log bytes.Buffer
}

// Options tune the server; zero values are fine.
type Options struct {
	// Env adds variables such as OLLAMA_NUM_PARALLEL=4, OLLAMA_KV_CACHE_TYPE=q8_0,
	// OLLAMA_FLASH_ATTENTION=1.
	Env []string
	// ModelsDir reuses a model directory (e.g. to keep imported blobs); default a
	// fresh temporary directory.
	ModelsDir string
}

// Binary returns the path of the ollama binary tests use: $FITBENCH_OLLAMA, else
// ~/.cache/fitbench/tools/bin/ollama, else `ollama` on PATH.
func Binary() (string, error) {
	if p := os.Getenv("FITBENCH_OLLAMA"); p != "" {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "fitbench", "tools", "bin", "ollama")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("ollama"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("ollama not found: run scripts/build-ollama.sh (builds the CPU engine into ~/.cache/fitbench/tools/bin) or set FITBENCH_OLLAMA")
}

// Require returns the binary path or ends the test: Fatal when the environment
// demands the engine (FITBENCH_REQUIRE_ENGINE=1), Skip otherwise.
func Require(t testing.TB) string {
	t.Helper()
	if testing.Short() && os.Getenv("FITBENCH_REQUIRE_ENGINE") != "1" {
		t.Skip("-short (make test-short): engine test not run")
	}
	bin, err := Binary()
	if err != nil {
		if os.Getenv("FITBENCH_REQUIRE_ENGINE") == "1" {
			t.Fatalf("engine required but missing: %v", err)
		}
		t.Skipf("engine test not run: %v", err)
	}
	return bin
}

// Start launches `ollama serve` and waits until it answers. It is stopped (and
// its temp dirs removed) by t.Cleanup. On failure the log is printed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Require(t)
	s, err := StartProcess(bin, opts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ollama log (tail):\n%s", tail(s.Log(), 4000))
		}
	})
	return s
}

// StartProcess is Start for programs (benchmarks) that have no testing.TB.
// scratch is a directory the server may use for its models and home.
func StartProcess(bin string, opts Options, scratch string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	models := opts.ModelsDir
	if models == "" {
		models = filepath.Join(scratch, "models")
	}
	home := filepath.Join(scratch, "home")
	for _, d := range []string{models, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{URL: "http://" + host, Host: host, ModelsDir: models}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"OLLAMA_HOST="+host,
		"OLLAMA_MODELS="+models,
		"HOME="+home,
		"OLLAMA_NOPRUNE=1",
		"OLLAMA_DEBUG=0",
	)
	cmd.Env = append(cmd.Env, opts.Env...)
	cmd.Stdout = s
	cmd.Stderr = s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ollama: %w", err)
	}
	s.Cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ok := ping(s.URL); ok {
			return s, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("ollama exited before answering: %v\n%s", err, tail(s.Log(), 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("ollama did not answer on %s within 60s\n%s", s.URL, tail(s.Log(), 4000))
		}
	}
}

// Write captures the server's output (it implements io.Writer for cmd.Stdout/Stderr).
func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// Log returns everything the server printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// LogSince returns what the server printed after offset (use len(Log()) before
// an action to capture only that action's lines).
func (s *Server) LogSince(offset int) string {
	l := s.Log()
	if offset > len(l) {
		return ""
	}
	return l[offset:]
}

// Stop ends the server and its runner subprocesses (the whole process group).
func (s *Server) Stop() {
	if s.Cmd == nil || s.Cmd.Process == nil {
		return
	}
	pgid := s.Cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 50; i++ {
			if syscall.Kill(pgid, 0) != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		close(done)
	}()
	<-done
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func ping(base string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/version", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
