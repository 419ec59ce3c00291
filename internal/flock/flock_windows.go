//go:build windows

package flock

import (
	"os"

	"golang.org/x/sys/windows"
)

// TryLock tries once to take an exclusive lock on f without waiting: the
// first byte of the lock file, the usual whole-file lock on Windows,
// released when the handle is closed.
func TryLock(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err == windows.ERROR_LOCK_VIOLATION || err == windows.ERROR_IO_PENDING {
		return ErrWouldBlock
	}
	return err
}
