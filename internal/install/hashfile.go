package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/registry"
)

// HashFile is the sha256 of a local file (add-local records it; install
// --verify and show --verify check an installed variant against it). It stops
// when ctx ends, and refuses a FIFO or device (gguf.OpenRegular) instead of
// blocking on it.
func HashFile(ctx context.Context, path string) (string, error) {
	f, err := gguf.OpenRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// ErrChecksum marks an installed file whose content no longer matches the
// sha256 recorded when it was downloaded.
var ErrChecksum = fmt.Errorf("checksum mismatch")

// VerifyFiles re-hashes installed files against their recorded sha256 (files
// recorded without one are skipped: nothing to compare with).
func VerifyFiles(ctx context.Context, files []registry.File) error {
	for _, f := range files {
		if f.SHA256 == "" {
			continue
		}
		got, err := HashFile(ctx, f.Path)
		if err != nil {
			return err
		}
		if got != f.SHA256 {
			return fmt.Errorf("%s: %w: sha256 %s, recorded %s (fitbench rm the model and install it again)", f.Path, ErrChecksum, got, f.SHA256)
		}
	}
	return nil
}
