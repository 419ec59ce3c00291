package download

import (
	"path/filepath"
)

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
