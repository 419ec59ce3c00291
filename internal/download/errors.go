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

// DiskFullError: the disk filled up while the download ran (the free-space
// check passed, then another program's writes took the space, or a quota
// ran out). The partial file and its state are kept, so the same install
// resumes once space is freed.
type DiskFullError struct {
	Dir         string
	Done, Total int64 // bytes on disk when it stopped, the file's size
	Err         error // the refused write
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("download: the disk is full: %s ran out of space after %s of %s (%v); the partial download is kept",
		e.Dir, human(uint64(max(e.Done, 0))), human(uint64(max(e.Total, 0))), rootCause(e.Err))
}

// ErrorHint is the advice shown with the error (CLI and API).
func (e *DiskFullError) ErrorHint() string {
	return fmt.Sprintf("free at least %s in %s (plus a margin), then run the same install again: it resumes where it stopped",
		human(uint64(max(e.Total-e.Done, 0))), e.Dir)
}

func (e *DiskFullError) Unwrap() []error { return []error{ErrNoSpace, e.Err} }

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

// human is a byte count in decimal units (kB, MB, GB = 10^9 bytes), the one
// unit fitbench prints everywhere, as the progress bar does.
func human(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// rootCause is the innermost error ("no space left on device"), without the
// path the message already names.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
