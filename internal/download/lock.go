package download

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fitbench/fitbench/internal/flock"
)

// lockFile takes an exclusive flock on path (created if needed), waiting
// while another process holds it. It makes two fitbench processes fetching
// the same file take turns: the second then finds the finished file.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("download: lock %s: %w", path, err)
		}
		for {
			err = flock.TryLock(f) // flock(2) / LockFileEx (internal/flock)
			if err == nil {
				break
			}
			if !errors.Is(err, flock.ErrWouldBlock) {
				f.Close()
				return nil, fmt.Errorf("download: lock %s: %w", path, err)
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		// The holder may have removed the lock file before we got it; then
		// our lock is on a dead inode and we must start again.
		a, errA := f.Stat()
		b, errB := os.Stat(path)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return func() {
				os.Remove(path)
				f.Close()
			}, nil
		}
		f.Close()
	}
}
