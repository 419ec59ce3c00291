package server

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// decode is decodeJSON under a read deadline: a client that sends its body
// slowly (or not at all) gets 408 after Config.BodyTimeout instead of holding
// a connection and a goroutine for as long as it likes. The deadline is set
// per request (not http.Server.ReadTimeout) so WebSocket progress streams,
// which live for the whole install, are not cut.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	d := s.cfg.BodyTimeout
	if d <= 0 {
		d = 15 * time.Second
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(d))
	defer rc.SetReadDeadline(time.Time{})
	err := decodeJSON(w, r, limit, v)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		w.Header().Set("Connection", "close")
		return &StatusError{Status: http.StatusRequestTimeout, Msg: "the request body did not arrive within " + d.String(),
			Hint: "send the whole request at once"}
	}
	return err
}
