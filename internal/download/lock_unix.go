//go:build unix

package download

import (
	"os"
	"syscall"
)

// errWouldBlock is what flockNB returns while another process holds the lock.
var errWouldBlock error = syscall.EWOULDBLOCK

// flockNB tries once to take an exclusive flock(2) on f without waiting.
func flockNB(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
