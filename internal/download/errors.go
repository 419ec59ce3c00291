package download

import (
	"errors"
	"fmt"
)

// ErrChecksum is wrapped by *ChecksumError: the downloaded bytes do not hash
// to the expected sha256 (the Hub's LFS oid).
var ErrChecksum = errors.New("sha256 checksum failed")

// ChecksumError reports a verification failure. The partial file has been
// deleted and nothing was renamed into place; a new Fetch starts over.
type ChecksumError struct {
	File, Expected, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("download: checksum failed for %s: expected sha256 %s, got %s (the corrupt copy was deleted; retry to download it again)",
		e.File, e.Expected, e.Got)
}

func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// ErrNoSpace is wrapped by *SpaceError.
var ErrNoSpace = errors.New("not enough disk space")

// SpaceError says how much space a download needs and how much there is.
type SpaceError struct {
	Dir        string
	Need, Free uint64 // Need includes the safety margin
	Margin     uint64
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("download: not enough disk space in %s: need %s (%d bytes, including a %s margin), only %s (%d bytes) free",
		e.Dir, human(e.Need), e.Need, human(e.Margin), human(e.Free), e.Free)
}

func (e *SpaceError) Unwrap() error { return ErrNoSpace }

// ErrSizeMismatch means the server's idea of the file size differs from the
// expected one (the file changed upstream, or the listing is wrong).
var ErrSizeMismatch = errors.New("file size mismatch")

// HTTPError is a response status that ended a download.
type HTTPError struct {
	Status int
	URL    string // without query (signatures are not logged)
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("download: server answered HTTP %d for %s", e.Status, e.URL)
}

func human(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
