package download

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

func TestResumeAfterCancelFetchesOnlyTheRest(t *testing.T) {
	const size = 4 << 20
	th := startHub(t, localhub.Options{BandwidthPerConn: 1 << 20}, map[string]int{"r.gguf": size})
	s := th.spec(t, t.TempDir(), "r.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	opts := fastOpts()
	opts.OnProgress = func(sn Snapshot) {
		if sn.Done >= 1<<20 {
			cancel()
		}
	}
	if err := NewManager().Fetch(ctx, []FileSpec{s}, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fetch: %v", err)
	}
	if _, err := os.Stat(s.Dest); err == nil {
		t.Fatal("destination exists after cancel")
	}
	done := stateDone(t, s.Dest, s)
	if done < 1<<20 || done >= size {
		t.Fatalf("state records %d bytes done", done)
	}
	th.quiesce()
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, fastOpts()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, s.Dest, th.data["r.gguf"])
	if got := th.Counts()[localhub.CountCDNBytes]; got != size-done {
		t.Fatalf("resume fetched %d bytes, want exactly the %d not recorded done", got, size-done)
	}
}

func TestStateForAnotherVersionIsIgnored(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{"v.gguf": 1 << 20})
	s := th.spec(t, t.TempDir(), "v.gguf")
	// A partial of the right size whose state claims it is all done, but for
	// a different sha256: it must not be trusted.
	os.WriteFile(partialPath(s.Dest), make([]byte, s.Size), 0o644)
	other := s
	other.SHA256 = fmt.Sprintf("%064x", 1)
	f, _ := os.OpenFile(partialPath(s.Dest), os.O_RDWR, 0)
	chunks := newChunks(s.Size, 256<<10)
	for _, c := range chunks {
		c.done.Store(c.End - c.Start)
	}
	if err := saveState(f, other, chunks); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if loadState(s) != nil {
		t.Fatal("state for another sha256 accepted")
	}
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, fastOpts()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, s.Dest, th.data["v.gguf"])
	// A tampered state (chunks not tiling the file) is rejected too.
	os.WriteFile(partialPath(s.Dest), make([]byte, s.Size), 0o644)
	os.WriteFile(statePath(s.Dest), []byte(`{"version":1,"size":1048576,"sha256":"`+s.SHA256+`","chunks":[{"start":0,"end":10,"done":10}]}`), 0o644)
	if loadState(s) != nil {
		t.Fatal("non-tiling state accepted")
	}
}

// TestKilledProcessResumes runs a download in a child process, SIGKILLs it
// mid-download, and resumes in this process from the state it left.
func TestKilledProcessResumes(t *testing.T) {
	const size = 6 << 20
	th := startHub(t, localhub.Options{BandwidthPerConn: 1 << 20}, map[string]int{"k.gguf": size})
	dir := t.TempDir()
	s := th.spec(t, dir, "k.gguf")
	url, err := s.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDownloadProcess$")
	cmd.Env = append(os.Environ(), "FITBENCH_DL_HELPER=1", "DL_URL="+url, "DL_DEST="+s.Dest,
		"DL_SIZE="+fmt.Sprint(s.Size), "DL_SHA="+s.SHA256)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var recorded int64
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if chunks := loadState(s); chunks != nil {
			recorded = 0
			for _, c := range chunks {
				recorded += c.done.Load()
			}
			if recorded >= 1<<20 {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	recorded = stateDone(t, s.Dest, s) // what the killed process left on disk
	if recorded == 0 || recorded >= size {
		t.Fatalf("killed process left %d bytes recorded", recorded)
	}
	th.quiesce()
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, fastOpts()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, s.Dest, th.data["k.gguf"])
	if got := th.Counts()[localhub.CountCDNBytes]; got != size-recorded {
		t.Fatalf("resume fetched %d bytes, want %d", got, size-recorded)
	}
	if _, err := os.Stat(filepath.Join(dir, "k.gguf.partial.lock")); err == nil {
		t.Fatal("lock file left")
	}
}

// TestHelperDownloadProcess is the child of TestKilledProcessResumes.
func TestHelperDownloadProcess(t *testing.T) {
	if os.Getenv("FITBENCH_DL_HELPER") != "1" {
		return // only meaningful as a subprocess
	}
	var size int64
	fmt.Sscan(os.Getenv("DL_SIZE"), &size)
	url := os.Getenv("DL_URL")
	s := FileSpec{Dest: os.Getenv("DL_DEST"), Size: size, SHA256: os.Getenv("DL_SHA"),
		Resolve: func(context.Context) (string, error) { return url, nil }}
	opts := fastOpts()
	NewManager().Fetch(context.Background(), []FileSpec{s}, opts)
	os.Exit(0)
}
