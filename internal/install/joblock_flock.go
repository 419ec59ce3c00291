package install

import (
	"errors"
	"os"
	"strconv"

	"github.com/fitbench/fitbench/internal/flock"
)

var errLocked = errors.New("locked by another process")

// tryFlock takes an exclusive flock on p (created if needed) without waiting
// and writes this process's pid into it for the busy message. Like
// download's lockFile, it checks that the file it locked is still the one at
// p: a holder removes the file when it releases.
func tryFlock(p string) (func(), error) {
	for {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		if err := flock.TryLock(f); err != nil { // flock(2) / LockFileEx: released if the process dies
			f.Close()
			if errors.Is(err, flock.ErrWouldBlock) {
				return nil, errLocked
			}
			return nil, err
		}
		a, errA := f.Stat()
		b, errB := os.Stat(p)
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			f.Close() // locked a file its holder just removed: try again
			continue
		}
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		return func() {
			os.Remove(p)
			f.Close()
		}, nil
	}
}
