package download

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

func TestFlippedByteChecksumThenRetry(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{"f.gguf": 600 << 10})
	s := th.spec(t, t.TempDir(), "f.gguf")
	th.Inject(localhub.Fault{Kind: "flip", Path: "f.gguf", After: 4321})
	opts := fastOpts()
	opts.Parts = 1
	opts.ChunkSize = 1 << 20 // one request, so the flip lands in it
	err := NewManager().Fetch(context.Background(), []FileSpec{s}, opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "checksum failed") ||
		ce.Expected != s.SHA256 || ce.Got == s.SHA256 {
		t.Fatalf("err = %v", err)
	}
	for _, p := range []string{s.Dest, partialPath(s.Dest), statePath(s.Dest)} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists after a checksum failure", p)
		}
	}
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, opts); err != nil {
		t.Fatalf("retry: %v", err)
	}
	assertFile(t, s.Dest, th.data["f.gguf"])
}

func TestRecoversFromServerFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults []localhub.Fault
		check  func(t *testing.T, th *testHub)
	}{
		{"drop mid-part", []localhub.Fault{{Kind: "drop", After: 100 << 10, Count: 3}}, nil},
		{"200 to a range request", []localhub.Fault{{Kind: "ignore-range", Count: 3}}, nil},
		{"5xx and 429", []localhub.Fault{{Kind: "500", Count: 2}, {Kind: "429", RetryAfter: 0, Count: 2}}, nil},
		{"URL expires between attempts", []localhub.Fault{{Kind: "expire", Count: 2}}, func(t *testing.T, th *testHub) {
			if th.resolves.Load() < 2 {
				t.Fatalf("expired URL not re-resolved (%d resolves)", th.resolves.Load())
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th := startHub(t, localhub.Options{}, map[string]int{"g.gguf": 2<<20 + 77})
			s := th.spec(t, t.TempDir(), "g.gguf")
			for _, f := range tc.faults {
				f.Path = "/repos/org/m-GGUF/" // CDN requests only: the resolver is the hub client's job
				th.Inject(f)
			}
			if err := NewManager().Fetch(context.Background(), []FileSpec{s}, fastOpts()); err != nil {
				t.Fatal(err)
			}
			assertFile(t, s.Dest, th.data["g.gguf"])
			if tc.check != nil {
				tc.check(t, th)
			}
		})
	}
}

func TestExpiredTTLBetweenRuns(t *testing.T) {
	// Signed URLs live one second; a resume after two seconds must re-resolve.
	th := startHub(t, localhub.Options{URLTTL: time.Second, BandwidthPerConn: 1 << 20}, map[string]int{"e.gguf": 2 << 20})
	s := th.spec(t, t.TempDir(), "e.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	opts := fastOpts()
	opts.OnProgress = func(sn Snapshot) {
		if sn.Done >= 512<<10 {
			cancel()
		}
	}
	if err := NewManager().Fetch(ctx, []FileSpec{s}, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	time.Sleep(2 * time.Second)
	before := th.resolves.Load()
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, fastOpts()); err != nil {
		t.Fatal(err)
	}
	if th.resolves.Load() == before {
		t.Fatal("resume did not resolve a fresh URL")
	}
	assertFile(t, s.Dest, th.data["e.gguf"])
}

// TestPermanentErrorGivesUp: a 404 is not retried forever; the partial stays.
func TestPermanentErrorGivesUp(t *testing.T) {
	th := startHub(t, localhub.Options{}, map[string]int{"p.gguf": 300 << 10})
	s := th.spec(t, t.TempDir(), "p.gguf")
	s.Resolve = func(context.Context) (string, error) { return th.CDNURL() + "/repos/org/m-GGUF/nope/p.gguf", nil }
	err := NewManager().Fetch(context.Background(), []FileSpec{s}, fastOpts())
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") && !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(s.Dest); err == nil {
		t.Fatal("destination created")
	}
}

// TestStallRetried uses an httptest server, because localhub cannot hang
// mid-body: the first response sends some bytes then goes silent.
func TestStallRetried(t *testing.T) {
	data := make([]byte, 512<<10)
	for i := range data {
		data[i] = byte(i % 251)
	}
	var reqs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reqs.Add(1) == 1 {
			w.Header().Set("Content-Range", "bytes 0-"+strconv.Itoa(len(data)-1)+"/"+strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:1000])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // silent until the client gives up
			return
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(data)))
	}))
	defer srv.Close()
	dest := t.TempDir() + "/s.gguf"
	s := FileSpec{Dest: dest, Size: int64(len(data)), Resolve: func(context.Context) (string, error) { return srv.URL, nil }}
	opts := fastOpts()
	opts.Parts, opts.ChunkSize, opts.StallTimeout = 1, 1<<20, 200*time.Millisecond
	if err := NewManager().Fetch(context.Background(), []FileSpec{s}, opts); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, data)
	if reqs.Load() < 2 {
		t.Fatal("stalled request was not retried")
	}
}
