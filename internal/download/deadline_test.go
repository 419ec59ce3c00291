package download

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/netx"
)

// TestTricklingCDNDownload (issue 14.3): a CDN that sends a byte a second
// reset the stall timer with every byte, and each attempt's few bytes counted
// as progress, so the download never ended. Now each attempt ends at the
// minimum rate, such attempts are not progress, and the download fails with
// a message naming the CDN's host.
func TestTricklingCDNDownload(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{"t.gguf": 1 << 20})
	s := th.spec(t, t.TempDir(), "t.gguf")
	th.Inject(localhub.Fault{Kind: "trickle", Path: "t.gguf", After: 1000, Rate: 2, Count: 100})
	opts := fastOpts()
	opts.Parts, opts.ChunkSize, opts.MaxRetries = 1, 1<<20, 2
	opts.Deadlines = netx.Deadlines{Window: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := NewManager().Fetch(ctx, []FileSpec{s}, opts)
	u, _ := url.Parse(th.CDNURL())
	if err == nil || ctx.Err() != nil || !errors.Is(err, netx.ErrTooSlow) || !strings.Contains(err.Error(), u.Host) {
		t.Fatalf("download from a trickling CDN: %v (want too slow, naming %s)", err, u.Host)
	}
	if !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Errorf("slow attempts counted as progress: %v", err)
	}
}
