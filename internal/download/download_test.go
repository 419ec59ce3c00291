package download

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

func TestFetchParallelVerifiedNoAuth(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{"a.gguf": 3<<20 + 123})
	s := th.spec(t, t.TempDir(), "a.gguf")
	var rec recorder
	opts := fastOpts()
	opts.OnProgress = rec.on
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, opts); err != nil {
		t.Fatal(err)
	}
	assertFile(t, s.Dest, th.data["a.gguf"])
	last := rec.last()
	if last.Phase != PhaseDone || last.Done != s.Size || last.Total != s.Size {
		t.Fatalf("last snapshot %+v", last)
	}
	if got := th.Counts()[localhub.CountCDNGet]; got < 4 {
		t.Fatalf("only %d CDN requests: not parallel ranged", got)
	}
	if h := th.LastCDNHeaders(); h.Get("Authorization") != "" {
		t.Fatal("Authorization header sent to the CDN")
	}
	// Fetching again finds the verified file and downloads nothing.
	th.ResetCounts()
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, opts); err != nil {
		t.Fatal(err)
	}
	if n := th.Counts()[localhub.CountCDNGet]; n != 0 {
		t.Fatalf("re-fetch of a complete file made %d CDN requests", n)
	}
}

func TestFetchShardsAsOneUnit(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{
		"m-00001-of-00002.gguf": 1 << 20, "m-00002-of-00002.gguf": 700 << 10})
	dir := t.TempDir()
	specs := []FileSpec{th.spec(t, dir, "m-00001-of-00002.gguf"), th.spec(t, dir, "m-00002-of-00002.gguf")}
	var rec recorder
	opts := fastOpts()
	opts.OnProgress = rec.on
	if err := NewManager().Fetch(context.Background(), specs, opts); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		assertFile(t, s.Dest, th.data[filepath.Base(s.Dest)])
	}
	total := specs[0].Size + specs[1].Size
	var prev int64
	for _, s := range rec.snap {
		if s.Total != total {
			t.Fatalf("snapshot total %d, want %d", s.Total, total)
		}
		if s.Phase == PhaseDownloading && s.Done < prev {
			t.Fatalf("download progress went backwards: %d after %d", s.Done, prev)
		}
		if s.Phase == PhaseDownloading {
			prev = s.Done
		}
	}
	if l := rec.last(); l.Done != total || l.Phase != PhaseDone {
		t.Fatalf("last %+v", l)
	}
}

func TestNotEnoughDiskBeforeAnyByte(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{"big.gguf": 2 << 20})
	s := th.spec(t, t.TempDir(), "big.gguf")
	opts := fastOpts()
	opts.DiskMargin = 1 << 20
	opts.FreeSpace = func(string) (uint64, error) { return 1 << 20, nil }
	err := NewManager().Fetch(context.Background(), []FileSpec{s}, opts)
	var se *SpaceError
	if !errors.As(err, &se) || !errors.Is(err, ErrNoSpace) {
		t.Fatalf("err = %v", err)
	}
	if se.Need != 3<<20 || se.Free != 1<<20 || !strings.Contains(err.Error(), "3145728") || !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("message lacks the numbers: %v", err)
	}
	for _, p := range []string{s.Dest, partialPath(s.Dest), statePath(s.Dest)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists after a refused download", p)
		}
	}
	if n := th.Counts()[localhub.CountCDNGet]; n != 0 {
		t.Fatalf("%d CDN requests despite no space", n)
	}
}

func TestSameFileTwiceOneDownload(t *testing.T) {
	th := startHub(t, localhub.Options{BandwidthPerConn: 4 << 20}, map[string]int{"c.gguf": 2 << 20})
	dir := t.TempDir()
	m := NewManager()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	started := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			opts := fastOpts()
			if i == 0 {
				opts.OnProgress = func(s Snapshot) {
					if s.Done > 0 {
						select {
						case <-started:
						default:
							close(started)
						}
					}
				}
			} else {
				<-started // join while the first one is mid-download
			}
			errs[i] = m.Fetch(context.Background(), []FileSpec{th.spec(t, dir, "c.gguf")}, opts)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	assertFile(t, filepath.Join(dir, "c.gguf"), th.data["c.gguf"])
	if got := th.Counts()[localhub.CountCDNBytes]; got != 2<<20 {
		t.Fatalf("CDN sent %d bytes for a %d-byte file: not one download", got, 2<<20)
	}
	if r := th.resolves.Load(); r != 1 {
		t.Fatalf("%d resolves, want 1", r)
	}
}

func TestJoinerCancelDoesNotBreakLeader(t *testing.T) {
	th := startHub(t, localhub.Options{BandwidthPerConn: 1 << 20}, map[string]int{"d.gguf": 1 << 20})
	dir := t.TempDir()
	m := NewManager()
	ctx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error)
	go func() { leaderDone <- m.Fetch(context.Background(), []FileSpec{th.spec(t, dir, "d.gguf")}, fastOpts()) }()
	for {
		m.mu.Lock()
		n := len(m.calls)
		m.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	joined := make(chan error)
	go func() { joined <- m.Fetch(ctx, []FileSpec{th.spec(t, dir, "d.gguf")}, fastOpts()) }()
	cancel()
	if err := <-joined; !errors.Is(err, context.Canceled) {
		t.Fatalf("joiner: %v", err)
	}
	if err := <-leaderDone; err != nil {
		t.Fatalf("leader broken by joiner's cancel: %v", err)
	}
	assertFile(t, filepath.Join(dir, "d.gguf"), th.data["d.gguf"])
}

func TestBadSpecs(t *testing.T) {
	ok := func(context.Context) (string, error) { return "http://127.0.0.1:1/x", nil }
	for _, s := range []FileSpec{
		{Dest: "relative.gguf", Size: 1, Resolve: ok},
		{Dest: "/tmp/x.gguf", Size: -1, Resolve: ok},
		{Dest: "/tmp/x.gguf", Size: 1, SHA256: "xyz", Resolve: ok},
		{Dest: "/tmp/x.gguf", Size: 1},
	} {
		if err := NewManager().Fetch(context.Background(), []FileSpec{s}, Options{}); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestSafeJoin(t *testing.T) {
	root := t.TempDir()
	for _, bad := range []string{"", "../../x.gguf", "/etc/passwd", "a/../../b.gguf", "a/..", "..",
		"a\x00b.gguf", "a\\..\\b.gguf", "./a.gguf", "a//b.gguf", "a/", "a\nb"} {
		if p, err := SafeJoin(root, bad); err == nil || !errors.Is(err, ErrUnsafePath) {
			t.Errorf("SafeJoin(%q) = %q, %v", bad, p, err)
		}
	}
	for _, good := range []string{"m.gguf", "Q4_K_M/m-00001-of-00002.gguf", "a..b.gguf", "..x"} {
		p, err := SafeJoin(root, good)
		if err != nil || !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Errorf("SafeJoin(%q) = %q, %v", good, p, err)
		}
	}
}

func FuzzSafeJoin(f *testing.F) {
	for _, s := range []string{"a.gguf", "../x", "a/../../b", "/abs", "a\x00", "x/./y"} {
		f.Add(s)
	}
	root := "/data/models"
	f.Fuzz(func(t *testing.T, rel string) {
		p, err := SafeJoin(root, rel)
		if err == nil && (!strings.HasPrefix(p, root+"/") || filepath.Clean(p) != p) {
			t.Fatalf("SafeJoin(%q) = %q escapes or is unclean", rel, p)
		}
	})
}
