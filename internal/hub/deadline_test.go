package hub

// Issue 14.3: every phase of a Hub or CDN request has a deadline and the
// message names the slow host; issue 13.7: a failed name lookup is final.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/netx"
)

func urlHost(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestTricklingCDNHeaderRead: a CDN that sends a byte a second once the read
// began held analyze forever; now the header read fails after one rate window
// with a message naming the CDN's host.
func TestTricklingCDNHeaderRead(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	f.hub.Inject(localhub.Fault{Kind: "trickle", Path: "model-Q8_0.gguf", After: 100, Rate: 1, Count: 10})
	c := New(Config{Endpoint: f.hub.URL(), RetryBase: time.Millisecond,
		Deadlines: netx.Deadlines{FirstByte: 5 * time.Second, Window: time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := c.Variants(ctx, "org/model-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.Find("Q8_0", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadHeaders(ctx, "org/model-GGUF", l.Commit, *v)
	cdn := urlHost(t, f.hub.CDNURL())
	if err == nil || ctx.Err() != nil || !errors.Is(err, netx.ErrTooSlow) ||
		!strings.Contains(err.Error(), cdn) || !strings.Contains(err.Error(), "too slow") {
		t.Fatalf("header read from a trickling CDN: %v (want too slow, naming %s)", err, cdn)
	}
	var he *Error
	if !errors.As(err, &he) || he.Hint == "" {
		t.Errorf("no typed error with a hint: %#v", err)
	}
}

// TestHubThatNeverAnswers: a Hub that accepts the connection and never sends
// headers cost 5 × 60 s; now one first-byte deadline, not retried, naming
// the host.
func TestHubThatNeverAnswers(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	f.hub.Inject(localhub.Fault{Kind: "hang", Count: 10})
	c := New(Config{Endpoint: f.hub.URL(), RetryBase: time.Millisecond,
		Deadlines: netx.Deadlines{FirstByte: 500 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.ModelInfo(ctx, "org/model-GGUF", "")
	api := urlHost(t, f.hub.URL())
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), api) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("ModelInfo from a silent Hub: %v (want a first-byte deadline naming %s)", err, api)
	}
	if n := f.hub.Counts()[localhub.CountModelInfo]; n != 1 {
		t.Errorf("the silent Hub was asked %d times; a missed deadline is not retried", n)
	}
}

// nxdomainServer is a real DNS server on loopback that answers every query
// NXDOMAIN and counts them.
func nxdomainServer(t *testing.T) (addr string, queries *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	queries = &atomic.Int64{}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			queries.Add(1)
			// Header: same id, QR=1 RD=1 RA=1 RCODE=3 (NXDOMAIN), the
			// question echoed, no answer, authority or additional records.
			end := 12
			for end < n && buf[end] != 0 {
				end += int(buf[end]) + 1
			}
			end += 5 // root label + QTYPE + QCLASS
			if end > n {
				continue
			}
			resp := append([]byte(nil), buf[:end]...)
			binary.BigEndian.PutUint16(resp[2:], 0x8183)
			binary.BigEndian.PutUint16(resp[4:], 1)
			binary.BigEndian.PutUint16(resp[6:], 0)
			binary.BigEndian.PutUint16(resp[8:], 0)
			binary.BigEndian.PutUint16(resp[10:], 0)
			pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String(), queries
}

// TestNameResolutionFailureIsFinal: offline, analyze took 6.5 s of retries to
// say the Hub cannot be reached. A lookup that fails is reported at once:
// the client asks the (real, local) DNS server exactly as often as one
// lookup does, and says the name does not resolve.
func TestNameResolutionFailureIsFinal(t *testing.T) {
	dns, queries := nxdomainServer(t)
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", dns)
	}}
	if _, err := res.LookupHost(context.Background(), "hub.fitbench-test.invalid"); err == nil {
		t.Fatal("the NXDOMAIN server resolved the name")
	}
	perLookup := queries.Load()
	queries.Store(0)
	tr := &http.Transport{DialContext: (&net.Dialer{Resolver: res}).DialContext}
	c := New(Config{Endpoint: "http://hub.fitbench-test.invalid", HTTPClient: &http.Client{Transport: tr},
		MaxRetries: 4, RetryBase: 200 * time.Millisecond})
	_, err := c.ModelInfo(context.Background(), "org/model-GGUF", "")
	if err == nil || !strings.Contains(err.Error(), "does not resolve") || !strings.Contains(err.Error(), "hub.fitbench-test.invalid") {
		t.Fatalf("ModelInfo with an unresolvable endpoint: %v", err)
	}
	if got := queries.Load(); got != perLookup {
		t.Errorf("%d DNS queries; one lookup makes %d: the failure was retried", got, perLookup)
	}
}

// TestTreeListingIsBounded (issue 14.5): a listing is decoded entry by entry
// and stops at MaxTreeEntries with a clear error, instead of holding a
// 1,000,000-entry listing (560 MB) in memory. Pages of 7 make the bound cross
// a page boundary.
func TestTreeListingIsBounded(t *testing.T) {
	f := newFixture(t, localhub.Options{PageSize: 7})
	os.MkdirAll(f.root+"/org/model-GGUF/notes", 0o755)
	for i := 0; i < 30; i++ {
		writeFile(t, fmt.Sprintf("%s/org/model-GGUF/notes/n%02d.txt", f.root, i), "x")
	}
	c := New(Config{Endpoint: f.hub.URL(), MaxTreeEntries: 20})
	_, err := c.Tree(context.Background(), "org/model-GGUF", "", "")
	if !IsKind(err, BadResponse) || !strings.Contains(err.Error(), "more than 20 files") {
		t.Fatalf("Tree past the bound: %v", err)
	}
	all, err := New(Config{Endpoint: f.hub.URL(), MaxTreeEntries: 100}).Tree(context.Background(), "org/model-GGUF", "", "")
	if err != nil || len(all) < 30 {
		t.Fatalf("Tree within the bound: %d entries, %v", len(all), err)
	}
}
