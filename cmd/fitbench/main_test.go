package main

// End-to-end tests of the fitbench binary. Every test runs the real binary
// (built once in TestMain) as a subprocess against real parts: a localhub on
// loopback serving synth-generated GGUF files from a temp root, and a real
// SQLite registry in a temp FITBENCH_HOME. Nothing reaches the internet.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// binPath is the fitbench binary built for this test run.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fitbench-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "fitbench")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building fitbench:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is one test's world: a hub root, a running localhub and a data dir.
type fixture struct {
	t    *testing.T
	root string // ROOT/{org}/{repo}/*.gguf
	home string // FITBENCH_HOME
	hf   string // HF_HOME (empty: no token file)
	hub  *localhub.Hub
	env  []string // extra variables for every run
}

func newFixture(t *testing.T, opts localhub.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir(), home: t.TempDir(), hf: t.TempDir()}
	opts.Root = f.root
	h, err := localhub.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	f.hub = h
	return f
}

// model writes a synth model into ROOT/repo and returns its file paths.
func (f *fixture) model(repo, base string, spec synth.Spec) []string {
	f.t.Helper()
	dir := filepath.Join(f.root, filepath.FromSlash(repo))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	paths, err := synth.Write(dir, base, spec)
	if err != nil {
		f.t.Fatal(err)
	}
	return paths
}

// environ is a clean environment: no token, no offline flag, no real Hub.
func (f *fixture) environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HF_") || strings.HasPrefix(k, "FITBENCH_") || k == "XDG_DATA_HOME" ||
			strings.HasPrefix(k, "HUGGING") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HF_ENDPOINT="+f.hub.URL(), "FITBENCH_HOME="+f.home, "HF_HOME="+f.hf)
	env = append(env, f.env...)
	return append(env, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the binary to completion.
func (f *fixture) run(stdin string, args ...string) result {
	f.t.Helper()
	return f.runEnv(nil, stdin, args...)
}

func (f *fixture) runEnv(extra []string, stdin string, args ...string) result {
	f.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = f.environ(extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatalf("running fitbench %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs the binary and fails the test unless it exits 0.
func (f *fixture) ok(stdin string, args ...string) result {
	f.t.Helper()
	r := f.run(stdin, args...)
	if r.code != 0 {
		f.t.Fatalf("fitbench %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// jsonOK runs a --json command and decodes its stdout into v.
func (f *fixture) jsonOK(v any, args ...string) result {
	f.t.Helper()
	r := f.ok("", args...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		f.t.Fatalf("fitbench %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// small is a quick model with distinct sizes per quantization.
var small = synth.Spec{Name: "fitbench-small", Layers: 4, Embd: 256, Heads: 8, KVHeads: 2, FF: 512, Vocab: 1024,
	Ctx: 4096, Seed: 7}

func withType(s synth.Spec, t gguf.GGMLType) synth.Spec { s.WeightType = t; return s }

// listRow is `fitbench list --json`'s row shape as the original design named it.
type listRow map[string]any

func (f *fixture) list() []listRow {
	f.t.Helper()
	var rows []listRow
	f.jsonOK(&rows, "list", "--json")
	return rows
}
