//go:build !unix

package install

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked by another process")

// tryFlock without flock: an O_EXCL lock file. A crashed holder leaves it
// behind, so this is weaker than the unix lock; fitbench is built for unix.
func tryFlock(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, errLocked
	}
	if err != nil {
		return nil, err
	}
	return func() { f.Close(); os.Remove(p) }, nil
}
