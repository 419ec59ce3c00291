package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/localhub"
)

// TestUntrustedStringsCannotDriveTheTerminal (issue 14.6): a model whose
// general.name holds escape sequences could erase and rewrite the verdict
// line. Output keeps the text but none of its control characters.
func TestUntrustedStringsCannotDriveTheTerminal(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	spec := withType(small, gguf.TypeQ8_0)
	spec.Name = "Evil\x1b[2K\rVERDICT: fits\x1b]0;pwned\x07\u202eflipped\u0085"
	f.model("testorg/Esc-GGUF", "Esc-Q8_0", spec)
	for _, args := range [][]string{{"analyze", "testorg/Esc-GGUF", "--cpu-only"}, {"install", "testorg/Esc-GGUF", "--no-bench"}, {"list"}} {
		r := f.run("", args...)
		out := r.stdout + r.stderr
		if !strings.Contains(out, "VERDICT: fits") && args[0] == "analyze" {
			t.Errorf("%v: the name is not shown at all:\n%s", args, out)
		}
		// The progress bar's own "\r\x1b[K" is the one sequence allowed.
		cleaned := strings.ReplaceAll(out, "\r\x1b[K", "")
		for _, bad := range []string{"\x1b", "\r", "\x07", "\u202e", "\u0085"} {
			if strings.Contains(cleaned, bad) {
				t.Errorf("%v: output holds %q:\n%q", args, bad, out)
			}
		}
	}
}

func TestCleanTerminal(t *testing.T) {
	for in, want := range map[string]string{
		"plain ünïcode\n\ttab": "plain ünïcode\n\ttab",
		"a\x1b[31mred":         "a?[31mred",
		"\u202eevil":           "?evil",
		"c1\u009b31m":          "c1?31m",
	} {
		if got := cleanTerminal(in); got != want {
			t.Errorf("cleanTerminal(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFIFOIsRefused (issue 14.6): a named pipe passed to analyze or add-local
// blocked in open() forever (and ignored SIGTERM); it is refused at once.
func TestFIFOIsRefused(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	p := filepath.Join(t.TempDir(), "pipe.gguf")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	for _, args := range [][]string{{"analyze", p, "--cpu-only"}, {"add-local", p}} {
		cmd := args[0]
		done := make(chan result, 1)
		go func() { done <- f.run("", args...) }()
		select {
		case r := <-done:
			if r.code == 0 || !strings.Contains(r.stderr, "FIFO") && !strings.Contains(r.stderr, "not a file") {
				t.Errorf("%s on a FIFO: %s", cmd, r)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%s on a FIFO still blocked after 60 s", cmd)
		}
	}
}

// TestShowReportsChangedFiles (issue 14.6): a file corrupted on disk was
// still shown "installed" (only its size was ever checked). show compares
// sizes, show --verify re-hashes; both exit 1 and say what to do.
func TestShowReportsChangedFiles(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	f.model("testorg/Rot-GGUF", "Rot-Q8_0", withType(small, gguf.TypeQ8_0))
	id := "testorg/Rot-GGUF:Q8_0"
	f.ok("", "install", id, "--no-bench")
	dest := filepath.Join(f.home, "models", "testorg", "Rot-GGUF", "Rot-Q8_0.gguf")
	if r := f.run("", "show", id, "--verify"); r.code != 0 || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("show --verify of an intact install: %s", r)
	}
	// Same size, one byte flipped: only a re-hash sees it.
	b, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	os.WriteFile(dest, b, 0o644)
	if r := f.run("", "show", id, "--verify"); r.code == 0 || !strings.Contains(r.stdout, "CHANGED") ||
		!strings.Contains(r.stdout, "sha256") || !strings.Contains(r.stderr, "fitbench install "+id) {
		t.Errorf("show --verify of a corrupted file: %s", r)
	}
	// Truncated: show sees it without --verify.
	os.WriteFile(dest, b[:len(b)/2], 0o644)
	if r := f.run("", "show", id); r.code == 0 || !strings.Contains(r.stdout, "bytes on disk") {
		t.Errorf("show of a truncated file: %s", r)
	}
}
