package gguf

import (
	"fmt"
	"os"
)

// OpenRegular opens path for reading only if it is a regular file. A FIFO
// passed as a model blocked open() forever and ignored SIGTERM (issue 14.6);
// so the type is checked before opening, the open itself never waits
// (O_NONBLOCK where the OS has it: a FIFO swapped in after the check), and the
// opened file is checked again.
func OpenRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	f, err := openNoWait(path)
	if err != nil {
		return nil, err
	}
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notRegular(path, st.Mode())
		}
		return nil, err
	}
	return f, nil
}

func notRegular(path string, m os.FileMode) error {
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&os.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&os.ModeDevice != 0:
		kind = "a device"
	case m&os.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Errorf("%s is %s, not a model file: give the path of a .gguf file", path, kind)
}
