package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

// testHub serves org/m-GGUF/{name} files with random content from a real
// localhub on loopback.
type testHub struct {
	*localhub.Hub
	data     map[string][]byte
	resolves atomic.Int64
}

func startHub(t *testing.T, opts localhub.Options, sizes map[string]int) *testHub {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "org", "m-GGUF")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	th := &testHub{data: map[string][]byte{}}
	rng := rand.New(rand.NewPCG(uint64(len(sizes)), 42))
	for name, size := range sizes {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		th.data[name] = b
	}
	opts.Root = root
	h, err := localhub.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	th.Hub = h
	return th
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// spec builds the FileSpec the install pipeline would: the expected size and
// sha256 from the listing, a resolver that asks the Hub for the CDN URL.
func (th *testHub) spec(t *testing.T, destDir, name string) FileSpec {
	t.Helper()
	b := th.data[name]
	sum := sha256.Sum256(b)
	dest, err := SafeJoin(destDir, name)
	if err != nil {
		t.Fatal(err)
	}
	return FileSpec{Dest: dest, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Resolve: th.resolver(name)}
}

func (th *testHub) resolver(name string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		th.resolves.Add(1)
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, th.URL()+"/org/m-GGUF/resolve/main/"+name, nil)
		resp, err := noRedirect.Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			return "", fmt.Errorf("resolve %s: HTTP %d", name, resp.StatusCode)
		}
		return resp.Header.Get("Location"), nil
	}
}

// recorder collects progress snapshots.
type recorder struct {
	mu   sync.Mutex
	snap []Snapshot
}

func (r *recorder) on(s Snapshot) {
	r.mu.Lock()
	r.snap = append(r.snap, s)
	r.mu.Unlock()
}

func (r *recorder) last() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.snap) == 0 {
		return Snapshot{}
	}
	return r.snap[len(r.snap)-1]
}

func fastOpts() Options {
	return Options{Parts: 4, ChunkSize: 256 << 10, Interval: 10e6, SaveInterval: 50e6, BackoffBase: 10e6,
		DiskMargin: -1}
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: content differs (len %d vs %d)", path, len(got), len(want))
	}
	for _, sfx := range []string{".partial", ".partial.json", ".partial.lock"} {
		if _, err := os.Stat(path + sfx); err == nil {
			t.Errorf("%s%s left behind", path, sfx)
		}
	}
}

func stateDone(t *testing.T, dest string, spec FileSpec) int64 {
	t.Helper()
	chunks := loadState(spec)
	if chunks == nil {
		t.Fatalf("no usable state file next to %s", dest)
	}
	var n int64
	for _, c := range chunks {
		n += c.done.Load()
	}
	return n
}

// quiesce waits until the CDN stops sending bytes of connections a previous
// (cancelled or killed) client left behind, then zeroes the counters, so the
// next operation's bytes are measured alone.
func (th *testHub) quiesce() {
	last := int64(-1)
	for {
		time.Sleep(300 * time.Millisecond)
		n := th.Counts()[localhub.CountCDNBytes]
		if n == last {
			break
		}
		last = n
	}
	th.ResetCounts()
}
