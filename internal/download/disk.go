package download

import (
	"fmt"
	"path/filepath"
	"syscall"
)

// statfsFree returns the bytes available to an unprivileged user in dir.
func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("download: free space of %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// checkSpace fails with *SpaceError unless dir has need bytes plus the margin.
func checkSpace(dir string, need int64, opts *Options) error {
	if need <= 0 {
		return nil
	}
	free, err := opts.FreeSpace(dir)
	if err != nil {
		return err
	}
	want := uint64(need) + uint64(opts.DiskMargin)
	if free < want {
		abs, _ := filepath.Abs(dir)
		return &SpaceError{Dir: abs, Need: want, Free: free, Margin: uint64(opts.DiskMargin)}
	}
	return nil
}
