// Package bench runs a sample set against a loaded engine instance, measures what
// really happened (streaming, so first-token times are real) and records the run in
// the registry.
package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fitbench/fitbench/internal/engine"
)

// Sample is one benchmark request.
type Sample struct {
	ID        string           `json:"id"`
	Category  string           `json:"category,omitempty"`
	Messages  []engine.Message `json:"messages"`
	MaxTokens int              `json:"max_tokens,omitempty"` // 0: the run's setting
}

// PromptText is the sample's messages flattened for storage and display.
func (s Sample) PromptText() string {
	if len(s.Messages) == 1 {
		return s.Messages[0].Content
	}
	var b strings.Builder
	for i, m := range s.Messages {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(m.Role + ": " + m.Content)
	}
	return b.String()
}

// DatasetError names the file and line of a bad dataset line.
type DatasetError struct {
	File string
	Line int
	Msg  string
}

func (e *DatasetError) Error() string { return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg) }

// line is the union of the accepted line shapes: OpenAI Batch API requests
// ({"custom_id", "method", "url", "body": {"messages", "max_tokens"}}), plain
// {"prompt": …} lines and the built-in set's {"id", "category", "prompt"|"messages"}.
type line struct {
	CustomID  *string          `json:"custom_id"`
	Method    string           `json:"method"`
	URL       string           `json:"url"`
	Body      *json.RawMessage `json:"body"`
	ID        string           `json:"id"`
	Category  string           `json:"category"`
	Prompt    *string          `json:"prompt"`
	Messages  []engine.Message `json:"messages"`
	MaxTokens int              `json:"max_tokens"`
}

type batchBody struct {
	Messages            []engine.Message `json:"messages"`
	MaxTokens           int              `json:"max_tokens"`
	MaxCompletionTokens int              `json:"max_completion_tokens"`
}

// ParseJSONL reads samples from JSONL; name is used in errors ("dataset.jsonl line
// 7: …"). Blank lines are skipped.
func ParseJSONL(r io.Reader, name string) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []Sample
	n := 0
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		s, msg := parseLine(raw, n)
		if msg != "" {
			return nil, &DatasetError{File: name, Line: n, Msg: msg}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, &DatasetError{File: name, Line: n + 1, Msg: err.Error()}
	}
	if len(out) == 0 {
		return nil, &DatasetError{File: name, Line: n, Msg: "no samples in file"}
	}
	return out, nil
}

func parseLine(raw []byte, n int) (Sample, string) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&l); err != nil {
		return Sample{}, "not a JSON object: " + err.Error()
	}
	if dec.More() {
		return Sample{}, "more than one JSON value on the line"
	}
	s := Sample{ID: l.ID, Category: l.Category, MaxTokens: l.MaxTokens}
	switch {
	case l.Body != nil:
		if l.URL != "" && l.URL != "/v1/chat/completions" {
			return s, fmt.Sprintf("batch request url %q is not /v1/chat/completions", l.URL)
		}
		if l.Method != "" && !strings.EqualFold(l.Method, "POST") {
			return s, fmt.Sprintf("batch request method %q is not POST", l.Method)
		}
		var b batchBody
		if err := json.Unmarshal(*l.Body, &b); err != nil {
			return s, "bad body: " + err.Error()
		}
		if len(b.Messages) == 0 {
			return s, `body has no "messages"`
		}
		s.Messages, s.MaxTokens = b.Messages, b.MaxTokens
		if b.MaxCompletionTokens > 0 {
			s.MaxTokens = b.MaxCompletionTokens
		}
		if l.CustomID != nil {
			s.ID = *l.CustomID
		}
	case l.Prompt != nil:
		if strings.TrimSpace(*l.Prompt) == "" {
			return s, `empty "prompt"`
		}
		s.Messages = []engine.Message{{Role: "user", Content: *l.Prompt}}
	case len(l.Messages) > 0:
		s.Messages = l.Messages
	default:
		return s, `want a "prompt", "messages" or an OpenAI Batch API request with "body"`
	}
	for i, m := range s.Messages {
		if m.Role == "" || strings.TrimSpace(m.Content) == "" {
			return s, fmt.Sprintf("message %d needs a role and content", i+1)
		}
	}
	if s.MaxTokens < 0 {
		return s, "negative max_tokens"
	}
	if s.ID == "" {
		s.ID = fmt.Sprintf("line-%d", n)
	}
	return s, ""
}

// LoadFile reads a JSONL dataset file.
func LoadFile(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return ParseJSONL(f, filepath.Base(path))
}
