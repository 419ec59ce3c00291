package netx

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Dialer connects within d.Connect.
func Dialer(d Deadlines) *net.Dialer {
	d = d.WithDefaults()
	return &net.Dialer{Timeout: d.Connect, KeepAlive: 30 * time.Second}
}

// Transport applies the first-byte deadline and the body's minimum rate to
// every request of Base (the connect deadline is the Base's dialer: Dialer).
type Transport struct {
	Base http.RoundTripper
	D    Deadlines
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	d := t.D.WithDefaults()
	ctx, cancel := context.WithCancel(req.Context())
	var fired atomic.Bool
	timer := time.AfterFunc(d.FirstByte, func() { fired.Store(true); cancel() })
	resp, err := t.Base.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() && fired.Load() {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, &SlowError{Host: req.URL.Host, Phase: "first byte", In: d.FirstByte}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: GuardBody(resp.Body, req.URL.Host, d), cancel: cancel}
	return resp, nil
}

// cancelOnClose releases the request's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
