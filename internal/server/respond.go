package server

import (
	"encoding/json"
	"errors"
	"github.com/fitbench/fitbench/internal/gguf"
	"log/slog"
	"net/http"

	"github.com/fitbench/fitbench/internal/source"
)

// StatusError is an error that knows its HTTP status and a hint for the user.
// The server uses it for its own input checks; the Installer may return one too
// (for example 409 when a model is busy).
type StatusError struct {
	Status int
	Msg    string
	Hint   string
}

func (e *StatusError) Error() string { return e.Msg }

// HTTPStatus lets errors from any package choose their status without the
// server importing that package.
func (e *StatusError) HTTPStatus() int { return e.Status }

// ErrorHint returns the hint shown beside the message.
func (e *StatusError) ErrorHint() string { return e.Hint }

func badRequest(msg, hint string) error {
	return &StatusError{Status: http.StatusBadRequest, Msg: msg, Hint: hint}
}

// errorBody is the one shape every failed API call answers with.
type errorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Hint    string `json:"hint,omitempty"`
}

// writeJSON writes v with status; API answers are never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// writeError is the one place an error becomes a response: it picks the status,
// logs with the request's fields and writes {"success":false,"error","hint"}.
// fitbench is a local tool, so even a 500 shows its message: it is the most
// useful thing the user can read (errors never carry tokens).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, hint := classify(err)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("error", err.Error()))
	writeJSON(w, status, errorBody{Success: false, Error: msg, Hint: hint})
}

// classify maps an error to (status, message, hint). Order matters: the most
// specific kinds first, then anything that states its own status, then 500.
func classify(err error) (int, string, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, "request body too large",
			"paste at most 2 MB of page text; the URL or repo id alone is enough"
	}
	var se *source.Error
	if errors.As(err, &se) {
		return http.StatusBadRequest, se.Msg, se.Hint
	}
	if st, msg, hint, ok := classifyHub(err); ok {
		return st, msg, hint
	}
	if gguf.IsFormatError(err) {
		return http.StatusUnprocessableEntity, err.Error(),
			"the model file's header is broken or incomplete; choose another variant or tell the repo's owner"
	}
	if st, ok := classifyRegistry(err); ok {
		return st, err.Error(), ""
	}
	var withStatus interface{ HTTPStatus() int }
	if errors.As(err, &withStatus) {
		st := withStatus.HTTPStatus()
		if st < 400 || st > 599 {
			st = http.StatusInternalServerError
		}
		hint := ""
		var withHint interface{ ErrorHint() string }
		if errors.As(err, &withHint) {
			hint = withHint.ErrorHint()
		}
		return st, err.Error(), hint
	}
	return http.StatusInternalServerError, err.Error(), "see logs/api.log in the data directory for details"
}
