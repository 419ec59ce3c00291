package gguf

import "fmt"

// Limits no real model reaches; a header beyond them is refused before any
// estimator allocates per-layer or per-head state for it.
const (
	maxBlocks = 1 << 12 // the largest published models have ~160 blocks
)

// Validate reports what an estimate would be missing. A header that names an
// architecture but lacks its block count, its width or its tensors does not
// describe a model any engine could load, and estimating it would divide by
// zero or index an empty layer list (issue 14: a 69-byte file holding only
// general.architecture crashed the server). The error names the key and wraps
// ErrIncomplete.
func (s Summary) Validate() error {
	arch := s.Architecture
	if arch == "" {
		return fmt.Errorf("%w: general.architecture is missing", ErrIncomplete)
	}
	switch {
	case s.BlockCount <= 0:
		return fmt.Errorf("%w: %s.block_count is missing or 0", ErrIncomplete, arch)
	case s.BlockCount > maxBlocks:
		return fmt.Errorf("%w: %s.block_count is %d (more than %d)", ErrTooLarge, arch, s.BlockCount, maxBlocks)
	case s.EmbeddingLength <= 0:
		return fmt.Errorf("%w: %s.embedding_length is missing or 0", ErrIncomplete, arch)
	case s.TensorBytes == 0:
		return fmt.Errorf("%w: the file holds no tensor data (a header without weights)", ErrIncomplete)
	case len(s.LayerBytes) < s.BlockCount:
		return fmt.Errorf("%w: %s.block_count is %d but tensors describe %d blocks", ErrIncomplete, arch, s.BlockCount, len(s.LayerBytes))
	}
	return nil
}
