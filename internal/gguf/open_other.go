//go:build !unix

package gguf

import "os"

func openNoWait(path string) (*os.File, error) { return os.Open(path) }
