package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Read-ahead sizes. A header is read through a window that starts at 2 MiB and
// doubles on every refill, so a 10 MB header (a 150k-token tokenizer) costs three
// ReadAt calls — over HTTP, three ranged GETs.
const (
	firstChunk = 2 << 20
	maxChunk   = 16 << 20
)

// PartialReaderAt is implemented by readers that can answer a read with fewer
// bytes than asked as long as at least min arrive (a streamed HTTP body): the
// window then takes what has arrived instead of waiting for a whole read-ahead
// chunk, so a header costs only its own bytes on a slow link.
type PartialReaderAt interface {
	ReadAtLeast(p []byte, off int64, min int) (int, error)
}

// partialChunk is the window size asked of a PartialReaderAt: an upper bound
// per refill, not an amount waited for.
const partialChunk = 1 << 20

// window is a sequential little-endian decoder over an io.ReaderAt that only ever
// issues large reads. pos is the absolute offset of the next byte to decode.
type window struct {
	r      io.ReaderAt
	size   int64
	buf    []byte
	bufOff int64 // absolute offset of buf[0]
	pos    int64
	chunk  int
	limit  int64 // header bytes we accept to read at all (ErrTooLarge beyond)
}

func newWindow(r io.ReaderAt, size, limit int64) *window {
	return &window{r: r, size: size, chunk: firstChunk, limit: limit}
}

func (w *window) remaining() uint64 { return uint64(w.size - w.pos) }

// need makes bytes [pos, pos+n) available in buf and returns them.
func (w *window) need(n uint64, what string) ([]byte, error) {
	if n > w.remaining() {
		return nil, fmt.Errorf("%w: %s needs %d bytes at offset %d but the file ends at %d",
			ErrTruncated, what, n, w.pos, w.size)
	}
	if uint64(w.pos)+n > uint64(w.limit) {
		return nil, fmt.Errorf("%w: header is larger than the %d-byte limit (reading %s at offset %d)",
			ErrTooLarge, w.limit, what, w.pos)
	}
	start := w.pos - w.bufOff
	if w.pos >= w.bufOff && start+int64(n) <= int64(len(w.buf)) {
		b := w.buf[start : start+int64(n)]
		w.pos += int64(n)
		return b, nil
	}
	if err := w.fill(n); err != nil {
		return nil, err
	}
	b := w.buf[:n]
	w.pos += int64(n)
	return b, nil
}

// fill reloads the window at pos with at least n bytes, keeping any bytes of the
// old window that are still ahead of pos so nothing is fetched twice.
func (w *window) fill(n uint64) error {
	pr, partial := w.r.(PartialReaderAt)
	want := uint64(w.chunk)
	if partial {
		want = partialChunk
	}
	if n > want {
		want = n
	}
	if rem := w.remaining(); want > rem {
		want = rem
	}
	if lim := uint64(w.limit - w.pos); want > lim {
		want = max(lim, n)
	}
	nb := make([]byte, want)
	kept := 0
	if w.pos >= w.bufOff && w.pos < w.bufOff+int64(len(w.buf)) {
		kept = copy(nb, w.buf[w.pos-w.bufOff:])
	}
	at := w.pos + int64(kept)
	var got int
	var err error
	if partial && uint64(kept) < n {
		got, err = pr.ReadAtLeast(nb[kept:], at, int(n)-kept)
	} else {
		got, err = w.r.ReadAt(nb[kept:], at)
	}
	// A short read is fine as long as it covers what is needed now: a reader may
	// hold only the header (ReadOptions.HeaderOnly) even though size is the file's.
	if uint64(kept+got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: file ended at offset %d while reading the header (size said %d)",
				ErrTruncated, at+int64(got), w.size)
		}
		return fmt.Errorf("reading GGUF header at offset %d: %w", at, err)
	}
	w.buf, w.bufOff = nb[:kept+got], w.pos
	if w.chunk < maxChunk {
		w.chunk *= 2
	}
	return nil
}

// skip advances pos by n without reading those bytes (unless they are buffered).
func (w *window) skip(n uint64, what string) error {
	if n > w.remaining() {
		return fmt.Errorf("%w: %s needs %d bytes at offset %d but the file ends at %d",
			ErrTruncated, what, n, w.pos, w.size)
	}
	if uint64(w.pos)+n > uint64(w.limit) {
		return fmt.Errorf("%w: header is larger than the %d-byte limit (skipping %s at offset %d)",
			ErrTooLarge, w.limit, what, w.pos)
	}
	w.pos += int64(n)
	return nil
}

func (w *window) u8(what string) (uint8, error) {
	b, err := w.need(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (w *window) u16(what string) (uint16, error) {
	b, err := w.need(2, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (w *window) u32(what string) (uint32, error) {
	b, err := w.need(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (w *window) u64(what string) (uint64, error) {
	b, err := w.need(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// maxString caps one string's length: no real key, name or chat template comes
// near it, and a remote header must never make us buffer gigabytes.
const maxString = 64 << 20

// strLen reads a string length and checks it against the bytes that remain.
func (w *window) strLen(what string) (uint64, error) {
	n, err := w.u64("string length")
	if err != nil {
		// what is only joined on failure: this runs for every token string.
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if n > w.remaining() {
		return 0, fmt.Errorf("%w: %s claims %d bytes at offset %d but only %d remain",
			ErrTruncated, what, n, w.pos, w.remaining())
	}
	if n > maxString {
		return 0, fmt.Errorf("%w: %s claims %d bytes (limit %d)", ErrTooLarge, what, n, maxString)
	}
	return n, nil
}

func (w *window) str(what string) (string, error) {
	n, err := w.strLen(what)
	if err != nil {
		return "", err
	}
	b, err := w.need(n, what)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// skipStr passes over a string without allocating it.
func (w *window) skipStr(what string) error {
	n, err := w.strLen(what)
	if err != nil {
		return err
	}
	return w.skip(n, what)
}

func f32(u uint32) float64 { return float64(math.Float32frombits(u)) }
