//go:build unix

package flock

import (
	"errors"
	"os"
	"syscall"
)

// TryLock tries once to take an exclusive lock on f without waiting.
func TryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrWouldBlock
	}
	return err
}
