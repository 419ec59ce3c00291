package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// recoverRequest answers a request whose handler panicked with the usual JSON
// error (500) instead of net/http's reset connection, and logs the stack. A
// bug reached by one hostile input must cost that request, not the server.
func (s *Server) recoverRequest(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v) // net/http's own way to abort a response: keep its meaning
	}
	s.log.Error("internal error (recovered)", slog.String("path", r.URL.Path), slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
	s.writeError(w, r, &StatusError{Status: http.StatusInternalServerError,
		Msg:  "internal error while handling the request",
		Hint: "this is a fitbench bug; the server keeps running — logs/api.log has the details"})
}
