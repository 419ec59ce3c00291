package download

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// remainingBytes is what a fetch of s still has to download, given a
// finished destination or a resumable partial.
func remainingBytes(s FileSpec) int64 {
	if fi, err := os.Stat(s.Dest); err == nil && fi.Size() == s.Size {
		return 0 // probably complete; verified before use
	}
	rem := s.Size
	for _, c := range loadState(s) {
		rem -= c.done.Load()
	}
	return rem
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// fetchFile downloads one file: lock, reuse a verified existing file, check
// space, resume or start the partial, run workers and the hasher, verify,
// rename into place.
func fetchFile(ctx context.Context, s FileSpec, opts Options, prog *fileProgress) error {
	dir := filepath.Dir(s.Dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("download: create %s: %w", dir, err)
	}
	unlock, err := lockFile(ctx, lockPath(s.Dest))
	if err != nil {
		return err
	}
	defer unlock()

	if ok, err := alreadyComplete(ctx, s, prog); ok || err != nil {
		return err
	}
	chunks := loadState(s)
	resumed := chunks != nil
	if !resumed {
		_, chunkSize := opts.plan(s.Size)
		chunks = newChunks(s.Size, chunkSize)
	}
	var have int64
	for _, c := range chunks {
		have += c.done.Load()
	}
	if err := checkSpace(dir, s.Size-have, &opts); err != nil {
		return err
	}
	flags := os.O_RDWR
	if !resumed {
		flags |= os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(partialPath(s.Dest), flags, 0o644)
	if err != nil {
		return fmt.Errorf("download: open partial: %w", err)
	}
	defer f.Close()
	if !resumed {
		if err := f.Truncate(s.Size); err != nil { // sparse: no blocks yet
			return diskFull(fmt.Errorf("download: preallocate %s: %w", f.Name(), err), s, chunks)
		}
		if err := saveState(f, s, chunks); err != nil {
			return diskFull(err, s, chunks)
		}
	}
	prog.onDisk.Store(have)

	d := &dl{spec: s, opts: opts, f: f, chunks: chunks, prog: prog, notify: make(chan struct{}, 1),
		url: &urlSource{resolve: s.Resolve}}
	sum, err := d.run(ctx)
	if serr := saveState(f, s, chunks); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return diskFull(err, s, chunks)
	}
	if s.SHA256 != "" && sum != s.SHA256 {
		f.Close()
		removePartial(s.Dest)
		return &ChecksumError{File: s.Name, Expected: s.SHA256, Got: sum}
	}
	if err := f.Sync(); err != nil {
		return diskFull(fmt.Errorf("download: sync: %w", err), s, chunks)
	}
	if err := os.Rename(f.Name(), s.Dest); err != nil {
		return fmt.Errorf("download: move into place: %w", err)
	}
	os.Remove(statePath(s.Dest))
	syncDir(dir)
	prog.phase.Store(PhaseDone)
	return nil
}

// diskFull turns a write the full disk refused into a *DiskFullError (what
// is on disk, what is missing); other errors pass unchanged.
func diskFull(err error, s FileSpec, chunks []*chunk) error {
	if err == nil || !isDiskFull(err) {
		return err
	}
	var done int64
	for _, c := range chunks {
		done += c.done.Load()
	}
	abs, _ := filepath.Abs(filepath.Dir(s.Dest))
	return &DiskFullError{Dir: abs, Done: done, Total: s.Size, Err: err}
}

// dl is one running download of one file.
type dl struct {
	spec   FileSpec
	opts   Options
	f      *os.File
	chunks []*chunk
	next   atomic.Int64 // next chunk index for a worker to take
	prog   *fileProgress
	notify chan struct{} // wakes the hasher
	url    *urlSource
}

// run fetches every chunk with opts.Parts workers while hashing the finished
// prefix; it returns the hex sha256 of the whole file.
func (d *dl) run(ctx context.Context) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	parts, _ := d.opts.plan(d.spec.Size)
	parts = min(parts, max(1, len(d.chunks)))

	hashDone := make(chan hashResult, 1)
	downloaded := make(chan struct{})
	go func() { hashDone <- d.hash(ctx, downloaded) }()

	pool := &workerPool{d: d, ctx: ctx, cancel: cancel, allDone: make(chan struct{})}
	pool.spawn()
	go pool.ramp(parts)
	stopSaver := d.saver()
	<-pool.allDone
	stopSaver()
	if err := context.Cause(ctx); err != nil {
		<-hashDone
		return "", err
	}
	d.prog.phase.Store(PhaseVerifying)
	close(downloaded)
	h := <-hashDone
	return h.sum, h.err
}

// saver writes the state file every SaveInterval until stopped.
func (d *dl) saver() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.opts.SaveInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				saveState(d.f, d.spec, d.chunks) // a failed periodic save only costs re-fetching
			}
		}
	}()
	return func() { close(quit); <-done }
}

func (d *dl) worker(ctx context.Context) error {
	for {
		i := int(d.next.Add(1) - 1)
		if i >= len(d.chunks) {
			return nil
		}
		if c := d.chunks[i]; c.remaining() > 0 {
			if err := d.fetchChunk(ctx, c); err != nil {
				return err
			}
		}
	}
}

func (d *dl) wake() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// alreadyComplete reports whether the destination already holds the file
// (right size and sha256), e.g. a second install of the same model.
func alreadyComplete(ctx context.Context, s FileSpec, prog *fileProgress) (bool, error) {
	fi, err := os.Stat(s.Dest)
	if err != nil || fi.Size() != s.Size || fi.IsDir() {
		return false, nil
	}
	if s.SHA256 == "" {
		return true, nil
	}
	prog.phase.Store(PhaseVerifying)
	defer prog.phase.Store(PhaseDownloading)
	sum, err := hashFile(ctx, s.Dest, prog)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false, err
		}
		return false, nil
	}
	if sum == s.SHA256 {
		prog.onDisk.Store(s.Size)
		return true, nil
	}
	return false, nil // a different or corrupt file: download over it
}
