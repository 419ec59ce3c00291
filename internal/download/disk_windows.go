//go:build windows

package download

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// statfsFree returns the bytes available to the calling user in dir
// (GetDiskFreeSpaceExW's lpFreeBytesAvailableToCaller, which honours quotas).
func statfsFree(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, fmt.Errorf("download: free space of %s: %w", dir, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, fmt.Errorf("download: free space of %s: %w", dir, err)
	}
	return avail, nil
}

// isDiskFull reports a write refused because the volume or the user's quota
// is full (ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL).
func isDiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}
