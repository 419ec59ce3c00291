package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fitbench/fitbench/internal/bench"
)

// The endpoints a batch line may name (the Batch API's own url values).
const (
	URLChat        = "/v1/chat/completions"
	URLCompletions = "/v1/completions"
)

// Error codes in the error file's "error" objects.
const (
	CodeInvalidJSON    = "invalid_json"
	CodeInvalidRequest = "invalid_request"
	CodeUnsupportedURL = "unsupported_url"
	CodeContextLength  = "context_length_exceeded"
	CodeInputChanged   = "input_changed"
	CodeLineTooLong    = "line_too_long"
	CodeEngineError    = "engine_error"
	CodeTimeout        = "request_timeout"
)

// Request is one parsed input line, ready to send.
type Request struct {
	Line     int
	CustomID string
	URL      string                     // URLChat or URLCompletions
	Body     map[string]json.RawMessage // the body as given (model and stream are set when sending)
	// PromptBytes is the size of the text the model reads (message contents or
	// the prompt), for the context check.
	PromptBytes int
	MaxTokens   int // from the body; 0 when it sets none
	// Chat holds the parsed messages of a chat line (the Ollama native route needs them).
	Chat []chatMessage
	// Prompt is a completions line's prompt.
	Prompt string
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// LineError is a line that cannot be sent; it goes to the error file.
type LineError struct {
	Line     int
	CustomID string
	Code     string
	Msg      string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func lineErr(n int, id, code, format string, a ...any) *LineError {
	return &LineError{Line: n, CustomID: id, Code: code, Msg: fmt.Sprintf("line %d: ", n) + fmt.Sprintf(format, a...)}
}

// ParseRequest checks one line against the Batch API request format:
// {"custom_id": string, "method": "POST", "url": "/v1/chat/completions" or
// "/v1/completions", "body": {…}}. Chat bodies are read by the benchmark's own
// dataset parser (bench.ParseLine), so both commands accept the same files.
func ParseRequest(raw []byte, n int) (*Request, *LineError) {
	var l struct {
		CustomID *string                    `json:"custom_id"`
		Method   string                     `json:"method"`
		URL      *string                    `json:"url"`
		Body     map[string]json.RawMessage `json:"body"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&l); err != nil {
		return nil, lineErr(n, "", CodeInvalidJSON, "not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, lineErr(n, "", CodeInvalidJSON, "more than one JSON value on the line")
	}
	id := ""
	if l.CustomID != nil {
		id = *l.CustomID
	}
	switch {
	case l.CustomID == nil || strings.TrimSpace(id) == "":
		return nil, lineErr(n, id, CodeInvalidRequest, `missing "custom_id" (a unique string that names the request in the output)`)
	case len(id) > 512:
		return nil, lineErr(n, "", CodeInvalidRequest, "custom_id is longer than 512 bytes")
	case !strings.EqualFold(l.Method, "POST"):
		return nil, lineErr(n, id, CodeInvalidRequest, `"method" is %q; batch requests use "POST"`, l.Method)
	case l.URL == nil:
		return nil, lineErr(n, id, CodeUnsupportedURL, `missing "url" (want %q or %q)`, URLChat, URLCompletions)
	case *l.URL != URLChat && *l.URL != URLCompletions:
		return nil, lineErr(n, id, CodeUnsupportedURL, "url %q is not supported (want %q or %q)", *l.URL, URLChat, URLCompletions)
	case l.Body == nil:
		return nil, lineErr(n, id, CodeInvalidRequest, `missing "body" (the request's JSON object)`)
	}
	r := &Request{Line: n, CustomID: id, URL: *l.URL, Body: l.Body}
	if v, ok := l.Body["stream"]; ok && string(v) == "true" {
		return nil, lineErr(n, id, CodeInvalidRequest, `"stream": true is not supported in a batch; leave it out`)
	}
	if r.URL == URLChat {
		s, err := bench.ParseLine(raw, n)
		if err != nil {
			msg := err.Error()
			if de, ok := err.(*bench.DatasetError); ok {
				msg = de.Msg
			}
			return nil, lineErr(n, id, CodeInvalidRequest, "%s", msg)
		}
		for _, m := range s.Messages {
			r.Chat = append(r.Chat, chatMessage{Role: m.Role, Content: m.Content})
			r.PromptBytes += len(m.Content) + len(m.Role)
		}
		r.MaxTokens = s.MaxTokens
		return r, nil
	}
	var b struct {
		Prompt    json.RawMessage `json:"prompt"`
		MaxTokens *int            `json:"max_tokens"`
	}
	if err := json.Unmarshal(mustJSON(l.Body), &b); err != nil {
		return nil, lineErr(n, id, CodeInvalidRequest, "bad body: %v", err)
	}
	if err := json.Unmarshal(b.Prompt, &r.Prompt); err != nil || strings.TrimSpace(r.Prompt) == "" {
		return nil, lineErr(n, id, CodeInvalidRequest, `body needs a non-empty string "prompt"`)
	}
	if b.MaxTokens != nil {
		if *b.MaxTokens < 0 {
			return nil, lineErr(n, id, CodeInvalidRequest, "negative max_tokens")
		}
		r.MaxTokens = *b.MaxTokens
	}
	r.PromptBytes = len(r.Prompt)
	return r, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// contextCheck refuses a request that cannot fit the context each request
// gets (ctxTokens; 0 = unknown, no check). The prompt's token count is
// estimated from its bytes with bytesPerToken (measured on this job's answered
// lines; 4 before the first answer, typical of English BPE vocabularies),
// because the engines fitbench drives expose no tokenizer over HTTP.
func contextCheck(r *Request, ctxTokens int, bytesPerToken float64, maxTokensCap int) *LineError {
	if ctxTokens <= 0 {
		return nil
	}
	if bytesPerToken <= 0 {
		bytesPerToken = 4
	}
	prompt := int(float64(r.PromptBytes)/bytesPerToken + 0.999)
	out := r.MaxTokens
	if maxTokensCap > 0 && (out == 0 || out > maxTokensCap) {
		out = maxTokensCap
	}
	if prompt+out > ctxTokens || prompt >= ctxTokens {
		return lineErr(r.Line, r.CustomID, CodeContextLength,
			"the request needs about %d prompt tokens (%d bytes at %.1f bytes per token) + %d max_tokens, more than the %d-token context each request gets",
			prompt, r.PromptBytes, bytesPerToken, out, ctxTokens)
	}
	return nil
}
