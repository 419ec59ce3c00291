package gguf

import "errors"

// Sentinel errors. Every error returned by the reader wraps exactly one of these
// (check with errors.Is) inside a message that says where and why, so a user who
// points fitbench at a broken or hostile file learns what is wrong with it.
var (
	ErrNotGGUF            = errors.New("not a GGUF file")
	ErrTruncated          = errors.New("GGUF file is truncated")
	ErrUnsupportedVersion = errors.New("unsupported GGUF version")
	ErrTooLarge           = errors.New("GGUF value too large")
	ErrBadAlignment       = errors.New("bad GGUF alignment")
	ErrTensorBounds       = errors.New("tensor data outside the file")
	ErrOverlappingTensors = errors.New("overlapping tensors")
	ErrUnknownType        = errors.New("unknown GGUF type")
	// ErrBadShape: a tensor shape llama.cpp would refuse (row not a whole number of
	// blocks, negative dimension).
	ErrBadShape = errors.New("bad tensor shape")
	// ErrDuplicate: a metadata key or tensor name appears twice.
	ErrDuplicate = errors.New("duplicate GGUF entry")
	// ErrSplit: shards that do not form one complete split model.
	ErrSplit = errors.New("inconsistent GGUF split")
	// ErrIncomplete: a header that lacks what any engine needs to load the model
	// (block count, width, tensors); see Summary.Validate.
	ErrIncomplete = errors.New("GGUF header does not describe a loadable model")
)

// IsFormatError reports whether err comes from a malformed, hostile or
// incomplete file (one of the sentinels above) rather than from I/O: the
// file's fault, not the user's or the network's.
func IsFormatError(err error) bool {
	for _, s := range []error{ErrNotGGUF, ErrTruncated, ErrUnsupportedVersion, ErrTooLarge, ErrBadAlignment,
		ErrTensorBounds, ErrOverlappingTensors, ErrUnknownType, ErrBadShape, ErrDuplicate, ErrSplit, ErrIncomplete} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
