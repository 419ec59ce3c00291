//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/testutil/fstest"
)

// allocated is the bytes a file really occupies (a partial is sparse).
func allocated(p string) int64 {
	var st syscall.Stat_t
	if syscall.Stat(p, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}

// TestFullDiskMidDownload (issue 14.6): the disk fills up while a download
// runs (another program's write takes the space the free-space check saw).
// The install must stop with an error that says the disk is full and what to
// do, leave no row "downloading", keep the registry usable, and resume the
// download once space is freed.
func TestFullDiskMidDownload(t *testing.T) {
	f := newFixture(t, localhub.Options{BandwidthPerConn: 8 << 20})
	src := f.model("testorg/Large-GGUF", "Large-F16", large)[0]
	size := fileSize(t, src)
	// room for the file and the 128 MiB margin the free-space check asks,
	// not for the file and what another program writes meanwhile
	f.home = fstest.SmallFS(t, size+(128<<20)+(16<<20))
	id := "testorg/Large-GGUF:F16"
	partial := filepath.Join(f.home, "models", "testorg", "Large-GGUF", "Large-F16.gguf.partial")

	cmd := exec.Command(binPath, "install", id, "--no-bench", "--parts", "1")
	cmd.Env = f.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for allocated(partial) < 8<<20 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the download never wrote 8 MiB:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("install ended before the disk filled (%v):\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	filler := fstest.Fill(t, f.home)
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("install still running 90 s after the disk filled:\n%s", out.String())
	}
	msg := out.String()
	t.Logf("install on a full disk: %v\n%s", err, msg)
	if err == nil {
		t.Fatalf("install succeeded on a full disk:\n%s", msg)
	}
	if !strings.Contains(msg, "disk is full") || !strings.Contains(msg, f.home) {
		t.Errorf("the error does not say the disk under %s is full:\n%s", f.home, msg)
	}
	if strings.Contains(msg, "goroutine ") {
		t.Errorf("stack trace on a full disk:\n%s", msg)
	}
	// Still full: list must work and must not claim a download is running.
	rows := f.list()
	if r := rowOf(rows, id); r == nil || r["status"] == "downloading" {
		t.Errorf("after the failed download the row is %v", r)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if allocated(partial) == 0 {
		t.Errorf("the partial download was not kept for resuming")
	}
	row := f.install(id)
	if row["status"] != "untested" {
		t.Errorf("after freeing space the install ended %v", row)
	}
	dest := filepath.Join(f.home, "models", "testorg", "Large-GGUF", "Large-F16.gguf")
	if fileSHA256(t, dest) != fileSHA256(t, src) {
		t.Errorf("the resumed file differs from the source")
	}
	if n := len(f.list()); n != 1 {
		t.Errorf("%d rows after the resumed install", n)
	}
}

// TestReadOnlyDataDirectory (issue 14.6): a data directory fitbench cannot
// write (a read-only mount; for root permission bits do not stop writes, the
// mount does) still lists and shows what is installed, with a warning; the
// commands that change something fail with an error that says why and what
// to do, and change nothing.
func TestReadOnlyDataDirectory(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	id := smallRepo + ":Q8_0"
	f.install(id)
	before := fileSHA256(t, filepath.Join(f.home, "registry.db"))
	fstest.ReadOnly(t, f.home)

	r := f.ok("", "list")
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stderr, "read-only") {
		t.Errorf("list in a read-only data directory: %s", r)
	}
	rows := f.list()
	if row := rowOf(rows, id); row == nil || row["status"] != "untested" {
		t.Errorf("list --json: %v", rows)
	}
	if r := f.ok("", "show", id); !strings.Contains(r.stdout, "Q8_0") {
		t.Errorf("show: %s", r)
	}
	f.ok("", "analyze", smallRepo, "--quant", "Q4_0", "--cpu-only")

	for _, args := range [][]string{{"install", smallRepo + ":F16", "--no-bench"}, {"rm", id}} {
		r := f.run("", args...)
		if r.code == 0 {
			t.Errorf("%v succeeded in a read-only data directory: %s", args, r)
		}
		if !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "FITBENCH_HOME") {
			t.Errorf("%v: the error does not say the directory is read-only and what to do: %s", args, r)
		}
		if strings.Contains(r.stderr, "goroutine ") {
			t.Errorf("%v: stack trace: %s", args, r)
		}
	}
	if got := fileSHA256(t, filepath.Join(f.home, "registry.db")); got != before {
		t.Errorf("the registry changed in a read-only directory")
	}
	if rows := f.list(); rowOf(rows, id) == nil || len(rows) != 1 {
		t.Errorf("rows after the refused commands: %v", rows)
	}
}
