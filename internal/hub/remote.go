package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/netx"
)

// minFetch is the smallest ranged GET a RemoteFile makes in chunk mode. The
// gguf reader asks for 2 MiB and then doubles, so this only matters for other,
// small readers.
const minFetch = 256 << 10

// streamSpan bounds the range of a streamed GET, and keepAliveDrain is how much
// unread body Close still reads to keep the connection for the next request.
const (
	streamSpan     = 64 << 20
	keepAliveDrain = 1 << 20
)

// RemoteFile is an io.ReaderAt over a Hub file, fetched with ranged GETs from
// the resolved (CDN) URL over the client's kept-alive connections. It resolves
// lazily on the first read (one HEAD) and again once when the signed URL has
// expired.
//
// In stream mode (OpenStream) it opens one GET over a large range and serves
// forward reads from the body as they come: a header of any size then costs one
// round trip instead of one per read-ahead chunk, which is what dominates on a
// far-away Hub. Close drains a small remainder (keeping the connection) or drops
// a large one. In chunk mode each missed ReadAt is one GET of what was asked,
// so the connection stays reusable; the last chunk is cached.
type RemoteFile struct {
	c                  *Client
	ctx                context.Context
	repo, commit, path string
	size               int64
	stream             bool

	mu     sync.Mutex
	res    *Resolved
	buf    []byte // chunk mode: last fetched range
	bufOff int64
	body   io.ReadCloser // stream mode: open body
	pos    int64         // offset of the next body byte
	end    int64         // end of the streamed range (exclusive)
	span   int64

	// Requests and Bytes count GETs made and body bytes consumed (benchmarks).
	Requests, Bytes int64
}

// OpenRange returns a reader over path in repo at commit; size is the file size
// from the listing (reads past it return io.EOF). The ctx bounds every request
// the reader makes. Reads are chunked GETs over one kept-alive connection.
func (c *Client) OpenRange(ctx context.Context, repo, commit, path string, size int64) *RemoteFile {
	return &RemoteFile{c: c, ctx: ctx, repo: repo, commit: commit, path: path, size: size}
}

// OpenStream is OpenRange in stream mode, for one sequential pass (a header
// read). Close it when done.
func (c *Client) OpenStream(ctx context.Context, repo, commit, path string, size int64) *RemoteFile {
	r := c.OpenRange(ctx, repo, commit, path, size)
	r.stream, r.span = true, streamSpan
	return r
}

// ReadAt implements io.ReaderAt.
func (r *RemoteFile) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < 0 {
		return 0, fmt.Errorf("hub: negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-off))
	switch {
	case off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)):
		copy(p[:n], r.buf[off-r.bufOff:])
	case r.stream:
		if err := r.readStream(p[:n], off); err != nil {
			return 0, err
		}
	default:
		if err := r.fetch(off, max(int64(n), minFetch)); err != nil {
			return 0, err
		}
		copy(p[:n], r.buf[off-r.bufOff:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// ReadAtLeast implements gguf.PartialReaderAt: in stream mode it returns as
// soon as min bytes (and whatever else has already arrived) are read, so a
// header read never waits for read-ahead it will not use. Otherwise it is ReadAt.
func (r *RemoteFile) ReadAtLeast(p []byte, off int64, min int) (int, error) {
	r.mu.Lock()
	if !r.stream || r.body == nil || off != r.pos || off+int64(len(p)) > r.end || min <= 0 {
		r.mu.Unlock()
		return r.ReadAt(p, off)
	}
	defer r.mu.Unlock()
	m, err := io.ReadAtLeast(r.body, p, min)
	r.pos += int64(m)
	r.Bytes += int64(m)
	if err != nil {
		r.closeBody(false)
		if m >= min {
			return m, nil
		}
		return m, r.c.bodyErr(r.path, err)
	}
	return m, nil
}

// readStream fills p from the open body, skipping forward if needed; a read
// behind the stream, beyond its range, or after a broken body opens a new one.
func (r *RemoteFile) readStream(p []byte, off int64) error {
	for attempt := 0; ; attempt++ {
		if r.body == nil || off < r.pos || off+int64(len(p)) > r.end || off-r.pos > 8<<20 {
			r.closeBody(false)
			end := min(r.size, off+max(r.span, int64(len(p))))
			resp, err := r.open(off, end-off)
			if err != nil {
				return err
			}
			r.body, r.pos, r.end = resp.Body, off, end
			r.span = min(r.span*2, 1<<30)
		}
		_, err := io.CopyN(io.Discard, r.body, off-r.pos)
		if err == nil {
			r.pos = off
			var m int
			m, err = io.ReadFull(r.body, p)
			r.pos += int64(m)
			r.Bytes += int64(m)
			if err == nil {
				return nil
			}
		}
		r.closeBody(false)
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		if attempt > 0 || errors.Is(err, netx.ErrTooSlow) { // a slow host gets no second deadline
			return r.c.bodyErr(r.path, err)
		}
	}
}

// Close ends a streamed GET: a small unread remainder is drained so the
// connection is reused, a large one is dropped.
func (r *RemoteFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeBody(true)
	r.buf = nil
	return nil
}

func (r *RemoteFile) closeBody(drainSmall bool) {
	if r.body == nil {
		return
	}
	if drainSmall && r.end-r.pos <= keepAliveDrain {
		io.Copy(io.Discard, r.body)
	}
	r.body.Close()
	r.body = nil
}

// fetch loads [off, off+want) (clamped to the file) into buf with one GET.
func (r *RemoteFile) fetch(off, want int64) error {
	want = min(want, r.size-off)
	resp, err := r.open(off, want)
	if err != nil {
		return err
	}
	defer drain(resp)
	buf := make([]byte, want)
	n, err := io.ReadFull(resp.Body, buf)
	r.Bytes += int64(n)
	if err != nil {
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		return r.c.bodyErr(r.path, err)
	}
	r.buf, r.bufOff = buf, off
	return nil
}

// open GETs [off, off+length) from the resolved URL, resolving first and once
// more if the CDN says the signed URL expired. The body is positioned at off.
func (r *RemoteFile) open(off, length int64) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		if r.res == nil {
			res, err := r.c.Resolve(r.ctx, r.repo, r.commit, r.path)
			if err != nil {
				return nil, err
			}
			r.res = res
		}
		resp, err := r.c.Get(r.ctx, r.res.URL, off, off+length-1)
		if err != nil && attempt == 0 && IsKind(err, Expired) {
			r.res = nil
			continue
		}
		if err != nil {
			return nil, err
		}
		r.Requests++
		switch resp.StatusCode {
		case http.StatusPartialContent:
			if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
				resp.Body.Close()
				return nil, &Error{Kind: BadResponse, Status: resp.StatusCode,
					Msg: fmt.Sprintf("the server answered a range request for %s with the wrong range", r.path)}
			}
		default: // 200: the server ignored Range; skip to off
			if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
				resp.Body.Close()
				return nil, r.c.unreachable(resp.Request.URL.Host, err)
			}
		}
		return resp, nil
	}
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ReadHeaderFiles parses the GGUF header of every shard of v over HTTP ranges.
// Later shards (tensor infos only: small headers) are read first in chunk mode
// over one kept-alive connection; the first shard, which holds the tokenizer and
// may have a header of many MB, is streamed last, so its one long GET is the
// only request that may end its connection.
func (c *Client) ReadHeaderFiles(ctx context.Context, repo, commit string, v Variant) ([]*gguf.File, error) {
	if len(v.Files) == 0 {
		return nil, &Error{Kind: NoVariant, Msg: "the variant has no files"}
	}
	files := make([]*gguf.File, len(v.Files))
	for k := range v.Files {
		i := (k + 1) % len(v.Files) // 1, 2, …, n-1, then 0
		f := v.Files[i]
		var rf *RemoteFile
		if i == 0 {
			rf = c.OpenStream(ctx, repo, commit, f.Path, f.Size)
		} else {
			rf = c.OpenRange(ctx, repo, commit, f.Path, f.Size)
		}
		gf, err := gguf.Read(rf, f.Size, gguf.ReadOptions{HeaderOnly: true})
		rf.Close()
		if err != nil {
			var he *Error
			if errors.As(err, &he) {
				return nil, he
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("reading the GGUF header of %s: %w", f.Path, err)
		}
		files[i] = gf
	}
	return files, nil
}

// ReadHeaders reads all shards' headers of v and summarizes the model for the
// estimators, without downloading the weights.
func (c *Client) ReadHeaders(ctx context.Context, repo, commit string, v Variant) (gguf.Summary, error) {
	files, err := c.ReadHeaderFiles(ctx, repo, commit, v)
	if err != nil {
		return gguf.Summary{}, err
	}
	var s gguf.Summary
	if len(files) == 1 {
		s, err = files[0].Summary()
	} else {
		s, err = gguf.MergeSummaries(files)
	}
	if err != nil {
		return gguf.Summary{}, fmt.Errorf("summarizing %s: %w", v.Files[0].Path, err)
	}
	if err := s.Validate(); err != nil {
		return gguf.Summary{}, fmt.Errorf("%s: %w", v.Files[0].Path, err)
	}
	return s, nil
}
