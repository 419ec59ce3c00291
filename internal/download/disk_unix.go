//go:build unix

package download

import (
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
