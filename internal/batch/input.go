// Package batch runs OpenAI Batch API files through an installed model (or any
// OpenAI-compatible endpoint): one request per input line, the answers in the
// Batch API's output format, failures in a separate error file, as OpenAI's
// Batch API does.
//
// A job survives SIGKILL and restarts: the input file is indexed once (offset,
// length and hash of every line) in the registry, each finished line is
// appended to its file, fsynced, and then committed together with the file's
// new length. A resume cuts each file back to its committed length (dropping a
// line written but not committed) and sends only the lines still pending, so
// every line appears exactly once.
package batch

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fitbench/fitbench/internal/registry"
)

// MaxLineBytes bounds one input line. OpenAI's own limit is a 200 MB file;
// a longer line is indexed (so the job can report it) but never read whole.
const MaxLineBytes = 16 << 20

// InputError is a problem with the input file as a whole (the job is refused).
type InputError struct {
	Path string
	Line int // 0: the file as a whole
	Msg  string
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// CheckRegularFile refuses anything but a readable regular file: a FIFO would
// block the indexer forever and a device would be read without end.
func CheckRegularFile(path string) (os.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{Path: path, Msg: "cannot read the input file: " + err.Error()}
	}
	if !st.Mode().IsRegular() {
		return nil, &InputError{Path: path, Msg: fmt.Sprintf("not a regular file (%s)", st.Mode().Type())}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{Path: path, Msg: "cannot read the input file: " + err.Error()}
	}
	f.Close()
	return st, nil
}

// Index reads the input file once and returns one entry per non-blank line:
// its byte range, a hash (to notice the file changing under a running job)
// and its custom_id. A custom_id used twice refuses the whole file, naming
// both lines: outputs are matched to inputs by custom_id, so a duplicate
// would make two answers indistinguishable. Malformed lines are indexed as
// they are; they are reported one by one in the error file when the job runs.
func Index(path string) ([]registry.BatchLine, os.FileInfo, error) {
	st, err := CheckRegularFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &InputError{Path: path, Msg: err.Error()}
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var out []registry.BatchLine
	seen := map[string]int{}
	var off int64
	for n := 1; ; n++ {
		line, length, hash, err := readLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, &InputError{Path: path, Line: n, Msg: err.Error()}
		}
		if length > 0 || err == nil {
			start := off
			off += int64(length)
			if err == nil {
				off++ // the newline
			}
			if trimmed := trimSpace(line); len(trimmed) > 0 || length > len(line) {
				id := customID(line, length)
				if id != "" {
					if first, dup := seen[id]; dup {
						return nil, nil, &InputError{Path: path, Line: n,
							Msg: fmt.Sprintf("custom_id %q is already used on line %d; custom_id values must be unique", id, first)}
					}
					seen[id] = n
				}
				out = append(out, registry.BatchLine{LineNo: n, Offset: start, Length: length, Hash: hash, CustomID: id})
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(out) == 0 {
		return nil, nil, &InputError{Path: path, Msg: "no requests in the file (it is empty or blank)"}
	}
	return out, st, nil
}

// readLine reads up to the next newline. It keeps at most MaxLineBytes of the
// line (length is the full length) and hashes all of it.
func readLine(r *bufio.Reader) (line []byte, length int, hash string, err error) {
	h := sha256.New()
	for {
		chunk, e := r.ReadSlice('\n')
		body := chunk
		if e == nil {
			body = chunk[:len(chunk)-1]
		}
		h.Write(body)
		length += len(body)
		if len(line) < MaxLineBytes {
			line = append(line, body[:min(len(body), MaxLineBytes-len(line))]...)
		}
		switch {
		case e == nil:
			return line, length, hashString(h.Sum(nil)), nil
		case errors.Is(e, bufio.ErrBufferFull):
			continue
		default:
			return line, length, hashString(h.Sum(nil)), e
		}
	}
}

func hashString(sum []byte) string { return hex.EncodeToString(sum[:16]) }

// LineHash is the hash Index records for a line's bytes.
func LineHash(b []byte) string {
	s := sha256.Sum256(b)
	return hashString(s[:])
}

func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}

// customID returns the line's custom_id when the line is a JSON object with a
// string custom_id; "" otherwise (the line is reported when it runs).
func customID(line []byte, length int) string {
	if length > len(line) {
		return ""
	}
	var v struct {
		CustomID *string `json:"custom_id"`
	}
	if json.Unmarshal(line, &v) != nil || v.CustomID == nil {
		return ""
	}
	return *v.CustomID
}
