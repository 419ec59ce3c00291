//go:build unix

package download

import (
	"errors"
	"fmt"
	"syscall"
)

// statfsFree returns the bytes available to an unprivileged user in dir
// (statfs(2) f_bavail × f_bsize).
func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("download: free space of %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// isDiskFull reports a write refused because the filesystem (ENOSPC) or the
// user's quota (EDQUOT) is full.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
