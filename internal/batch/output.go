package batch

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
)

// OutputLine is one line of the output or error file, in the OpenAI Batch
// API's shape (BatchRequestOutput in OpenAI's openapi.yaml): answered requests
// carry the engine's response (status code, a request id, the JSON body);
// requests that were never answered carry only an error. As with OpenAI,
// answers with a non-2xx status go to the error file with their response.
type OutputLine struct {
	ID       string          `json:"id"`
	CustomID *string         `json:"custom_id"`
	Response *OutputResponse `json:"response"`
	Error    *OutputError    `json:"error"`
}

// OutputResponse is an engine's answer.
type OutputResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

// OutputError says why a line has no answer. Line is the input line number
// (an addition to OpenAI's {code, message}: the input's custom_id may be the
// very thing that is missing).
type OutputError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// appender is one output file written only at its end. Its committed length
// lives in the registry; open cuts the file back to it, so bytes of a line
// written but never committed (a crash in between) are dropped, and the line,
// still pending, is written again exactly once.
type appender struct {
	f    *os.File
	path string
	size int64
}

func openAppender(path string, committed int64) (*appender, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() < committed {
		f.Close()
		return nil, fmt.Errorf("%s holds %d bytes but %d were recorded as written: the file was changed outside fitbench; move it back or start a new job", path, st.Size(), committed)
	}
	if st.Size() > committed {
		if err := f.Truncate(committed); err != nil {
			f.Close()
			return nil, fmt.Errorf("cut %s back to its last committed line: %w", path, err)
		}
	}
	return &appender{f: f, path: path, size: committed}, nil
}

// write appends whole lines at the committed end (pwrite at an explicit
// offset, so a partial earlier write can never shift the file).
func (a *appender) write(lines [][]byte) error {
	if len(lines) == 0 {
		return nil
	}
	var buf []byte
	for _, l := range lines {
		buf = append(buf, l...)
		buf = append(buf, '\n')
	}
	if _, err := a.f.WriteAt(buf, a.size); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", a.path, err)
	}
	a.size += int64(len(buf))
	return nil
}

func (a *appender) close() error { return a.f.Close() }
