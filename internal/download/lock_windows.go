//go:build windows

package download

import (
	"os"

	"golang.org/x/sys/windows"
)

// errWouldBlock is what flockNB returns while another process holds the lock:
// LockFileEx with LOCKFILE_FAIL_IMMEDIATELY fails with ERROR_LOCK_VIOLATION.
var errWouldBlock error = windows.ERROR_LOCK_VIOLATION

// flockNB tries once to take an exclusive lock on f without waiting. Windows
// locks byte ranges; locking the first byte of the (empty) lock file is the
// usual whole-file lock, released when the handle is closed.
func flockNB(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err == windows.ERROR_LOCK_VIOLATION || err == windows.ERROR_IO_PENDING {
		return errWouldBlock
	}
	return err
}
