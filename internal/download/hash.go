package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

type atomicBool = atomic.Bool

type hashResult struct {
	sum string
	err error
}

// hash feeds the file's contiguous finished prefix through sha256 while the
// workers download, and finishes the rest once downloaded is closed. Chunks
// are handed out in file order, so the prefix grows steadily and little is
// left to hash at the end.
func (d *dl) hash(ctx context.Context, downloaded <-chan struct{}) hashResult {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var pos int64
	ci := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for pos < d.spec.Size {
		for ci < len(d.chunks) && d.chunks[ci].remaining() == 0 {
			ci++
		}
		limit := d.spec.Size
		if ci < len(d.chunks) {
			limit = d.chunks[ci].Start + d.chunks[ci].done.Load()
		}
		if limit-pos < int64(len(buf)) && limit < d.spec.Size {
			select { // wait for more bytes
			case <-ctx.Done():
				return hashResult{err: ctx.Err()}
			case <-d.notify:
			case <-tick.C:
			case <-downloaded:
			}
			if limit-pos == 0 {
				continue
			}
		}
		n := min(int64(len(buf)), limit-pos)
		if _, err := d.f.ReadAt(buf[:n], pos); err != nil {
			return hashResult{err: fmt.Errorf("download: read back %s: %w", d.f.Name(), err)}
		}
		h.Write(buf[:n])
		pos += n
		d.prog.hashed.Store(pos)
	}
	return hashResult{sum: hex.EncodeToString(h.Sum(nil))}
}

// hashFile returns the hex sha256 of a whole file.
func hashFile(ctx context.Context, path string, prog *fileProgress) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		m, err := f.Read(buf)
		h.Write(buf[:m])
		n += int64(m)
		prog.hashed.Store(n)
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}
