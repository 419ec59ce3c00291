// Package download fetches large files (GGUF models) in parallel ranged
// parts, resumable across process restarts, verified against the expected
// sha256 before they are atomically renamed into place.
//
// On disk, while a file downloads, two siblings exist next to the
// destination: DEST.partial (preallocated, sparse) and DEST.partial.json,
// the state: the expected size, sha256 and commit, and per chunk the byte
// range and how many of its leading bytes are on disk. The state is written
// atomically (temp file + rename) after an fsync of the data, so a process
// killed at any moment leaves a state that under-reports, never over-reports:
// the next run fetches only what was not recorded done.
//
// The file is split into chunks (resume granularity) fetched in order by
// Parts workers (parallel connections); while they run, the sha256 is computed
// over the contiguous prefix already on disk, so verification mostly overlaps
// the download.
package download

import (
	"context"
	"net/http"
	"time"

	"github.com/fitbench/fitbench/internal/netx"
)

// FileSpec is one file to fetch.
type FileSpec struct {
	Dest   string // final path; build it with SafeJoin
	Size   int64  // expected size in bytes
	SHA256 string // expected hex sha256 (the Hub's LFS oid); "" skips verification
	Commit string // recorded in the state; a resume for another commit starts over
	// Resolve returns a URL the bytes can be fetched from right now (e.g. a
	// signed CDN URL). It is called before the first request of every Fetch
	// (so a resume never reuses a stale URL) and again when the server
	// answers 401/403/410 (expired signature). It must not return URLs that
	// need an Authorization header: none is ever sent.
	Resolve func(ctx context.Context) (string, error)
	Name    string // shown in progress; default: base name of Dest
}

// Options tunes a Fetch. Zero values pick the defaults noted.
type Options struct {
	Parts        int            // most parallel connections per file; 0 = 1 per 32 MiB, 1..8 (see ramp.go)
	ChunkSize    int64          // unit of work and of resume; 0 = 16 MiB (smaller for small files)
	Client       *http.Client   // 0 = a client with sane timeouts and no compression
	OnProgress   func(Snapshot) // called from one goroutine, every Interval and at the end
	Interval     time.Duration  // progress period; 0 = 250 ms
	SaveInterval time.Duration  // state-file period; 0 = 1 s
	StallTimeout time.Duration  // no bytes for this long → retry the chunk; 0 = 30 s
	MaxRetries   int            // consecutive failures without progress per chunk; 0 = 6
	BackoffBase  time.Duration  // first retry delay, doubled each time, capped at 15 s; 0 = 250 ms
	DiskMargin   int64          // free space required beyond the bytes still to fetch; 0 = 128 MiB, <0 = none
	// FreeSpace reports free bytes in dir; tests replace it. 0 = syscall.Statfs.
	FreeSpace func(dir string) (uint64, error)
	// Deadlines of the default client: connect, first byte, minimum rate
	// (zero fields: netx's defaults). A given Client keeps its own.
	Deadlines netx.Deadlines
}

const (
	mib         = 1 << 20
	maxParts    = 8
	partPer     = 32 * mib
	chunkMax    = 16 * mib
	chunkMin    = 256 << 10
	bufSize     = 256 << 10
	maxWaitTime = 15 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = defaultClient(o.Deadlines)
	}
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.SaveInterval <= 0 {
		o.SaveInterval = time.Second
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 30 * time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 6
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 250 * time.Millisecond
	}
	switch {
	case o.DiskMargin == 0:
		o.DiskMargin = 128 * mib
	case o.DiskMargin < 0:
		o.DiskMargin = 0
	}
	if o.FreeSpace == nil {
		o.FreeSpace = statfsFree
	}
	return o
}

// plan picks the number of workers and the chunk size for a file.
func (o Options) plan(size int64) (parts int, chunk int64) {
	parts = o.Parts
	if parts <= 0 {
		parts = int(min(maxParts, max(1, (size+partPer-1)/partPer)))
	}
	chunk = o.ChunkSize
	if chunk <= 0 {
		chunk = min(chunkMax, max(chunkMin, (size+int64(parts)-1)/int64(parts)))
	}
	return parts, chunk
}

// defaultClient has no overall timeout (files are large); netx bounds the
// connect, the first byte and the minimum rate (a CDN sending a byte a second
// is reported by host, not waited on), and it asks for identity encoding so
// ranges mean file offsets.
func defaultClient(d netx.Deadlines) *http.Client {
	d = d.WithDefaults()
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           netx.Dialer(d).DialContext,
		MaxIdleConnsPerHost:   2 * maxParts,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false, // one TCP connection per part is the point
		ReadBufferSize:        256 << 10,
	}
	return &http.Client{Transport: &netx.Transport{Base: t, D: d}}
}
