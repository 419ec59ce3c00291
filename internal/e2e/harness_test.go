package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// fitbenchBin is the binary under test, built once by TestMain.
var fitbenchBin string

// TestMain builds the real fitbench command: the tests drive the product as a
// user does (a subprocess serving HTTP), not its packages wired by hand.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fitbench-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	fitbenchBin = filepath.Join(dir, "fitbench")
	build := exec.Command("go", "build", "-o", fitbenchBin, "github.com/fitbench/fitbench/cmd/fitbench")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building fitbench:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeRepo generates one GGUF file per weight type into root/org/name, named
// like a real quantizer's repo ("<name>-Q4_0.gguf"), and returns the paths.
func writeRepo(t *testing.T, root, org, name string, spec synth.Spec, types ...gguf.GGMLType) []string {
	t.Helper()
	dir := filepath.Join(root, org, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ty := range types {
		s := spec
		s.WeightType = ty
		paths, err := synth.Write(dir, fmt.Sprintf("%s-%s", trimGGUF(name), ty), s)
		if err != nil {
			t.Fatalf("generate %s %s: %v", name, ty, err)
		}
		out = append(out, paths...)
	}
	return out
}

func trimGGUF(name string) string {
	if n := len(name); n > 5 && name[n-5:] == "-GGUF" {
		return name[:n-5]
	}
	return name
}

// startHub runs localhub in-process over opts.Root until the test ends.
func startHub(t *testing.T, opts localhub.Options) *localhub.Hub {
	t.Helper()
	h, err := localhub.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// served is a running `fitbench serve` subprocess.
type served struct {
	URL  string // http://127.0.0.1:PORT
	Home string // FITBENCH_HOME
	env  []string
	log  *syncBuffer
}

// startServe runs `fitbench serve` on a free loopback port with its own data
// directory, the Hub at hubURL and the extra environment, and waits until
// /healthz answers. At the end of the test it is interrupted (as Ctrl-C would)
// and its log is printed when the test failed.
func startServe(t *testing.T, hubURL string, extraEnv ...string) *served {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	s := &served{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Home: home, log: &syncBuffer{}}
	s.env = append(os.Environ(),
		"HF_ENDPOINT="+hubURL,
		"HF_HOME="+filepath.Join(home, "hf"), // no token of the user's is read or sent
		"HF_TOKEN=",
		"FITBENCH_HOME="+home,
	)
	s.env = append(s.env, extraEnv...)
	cmd := exec.Command(fitbenchBin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--engine", "ollama")
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("fitbench serve did not stop within 20 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("fitbench serve log (tail):\n%s", s.log.Tail(6000))
		}
	})
	for {
		if ok, _ := healthy(s.URL); ok {
			return s
		}
		select {
		case <-exited:
			t.Fatalf("fitbench serve exited before answering:\n%s", s.log.Tail(4000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func healthy(base string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// registryRow is the part of a `fitbench list --json` row the tests check.
type registryRow struct {
	ModelID                string  `json:"model_id"`
	Status                 string  `json:"status"`
	StatusReason           string  `json:"status_reason"`
	ThroughputTokensPerSec float64 `json:"throughput_tokens_per_sec"`
	SizeBytes              int64   `json:"size_bytes"`
	LocalPath              string  `json:"local_path"`
	Files                  []struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
}

// list runs `fitbench list --json` against the server's data directory: the
// registry as the CLI sees it, read from the same SQLite file.
func (s *served) list(t *testing.T) []registryRow {
	t.Helper()
	cmd := exec.Command(fitbenchBin, "list", "--json")
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("fitbench list --json: %v\n%s", err, errb.String())
	}
	var rows []registryRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("fitbench list --json printed %q: %v", out.String(), err)
	}
	return rows
}

// getJSON GETs path on the server and decodes the answer into v.
func (s *served) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// postJSON POSTs body as JSON and returns the status and the decoded answer.
func (s *served) postJSON(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: %s, body not JSON: %v", path, resp.Status, err)
	}
	return resp.StatusCode, out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a subprocess's output; Write may be called from two
// copying goroutines (stdout and stderr).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Tail returns the last n bytes written.
func (s *syncBuffer) Tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// errorsIn returns the log lines at level ERROR (a job disturbed by a client
// leaving would log one).
func (s *served) errorsIn() []string {
	var out []string
	for _, line := range bytes.Split([]byte(s.log.Tail(1<<30)), []byte("\n")) {
		if bytes.Contains(line, []byte("level=ERROR")) {
			out = append(out, string(line))
		}
	}
	return out
}

var errNoRow = errors.New("no registry row")

// row finds modelID in the registry rows.
func row(rows []registryRow, modelID string) (registryRow, error) {
	for _, r := range rows {
		if r.ModelID == modelID {
			return r, nil
		}
	}
	return registryRow{}, fmt.Errorf("%s: %w (rows: %+v)", modelID, errNoRow, rows)
}
