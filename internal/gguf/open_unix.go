//go:build unix

package gguf

import (
	"os"
	"syscall"
)

func openNoWait(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
