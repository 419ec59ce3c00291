package server

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// tokenCookie carries the token after the first ?token= visit, so the pages'
// fetch and WebSocket calls are authorised without the token in every URL.
const tokenCookie = "fitbench_token"

// isLoopbackHost reports whether host (no port) names this machine only.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// needsToken reports whether addr can be reached from other machines: an empty
// host or a wildcard ("0.0.0.0", "::") listens everywhere.
func needsToken(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return !isLoopbackHost(host)
}

// hostAllowed defends against DNS rebinding: a page on evil.example that
// re-resolves to 127.0.0.1 still sends "Host: evil.example", so only loopback
// names and the configured hosts are served. Any port is accepted for loopback
// names — the name, not the port, is what a rebinding attack controls.
func (s *Server) hostAllowed(hostport string) bool {
	if hostport == "" {
		return false
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if isLoopbackHost(host) {
		return true
	}
	for _, a := range s.allowedHosts {
		if strings.EqualFold(a, hostport) || strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// originAllowed is the CSRF check for state-changing requests and WebSocket
// upgrades: a browser always sends Origin on those, and it must be this very
// site (same scheme-less host:port as the request). No Origin means a non-browser
// client (curl, the CLI), which cannot be driven by another site.
func originAllowed(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null" from sandboxed frames and file:// pages
	}
	return strings.EqualFold(u.Host, r.Host)
}

// tokenOK checks the Bearer header, the cookie or ?token=.
func (s *Server) tokenOK(r *http.Request) (ok, fromQuery bool) {
	want := []byte(s.cfg.Token)
	check := func(got string) bool {
		return got != "" && subtle.ConstantTimeCompare([]byte(got), want) == 1
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		if check(strings.TrimPrefix(h, "Bearer ")) {
			return true, false
		}
	}
	if c, err := r.Cookie(tokenCookie); err == nil && check(c.Value) {
		return true, false
	}
	if check(r.URL.Query().Get("token")) {
		return true, true
	}
	return false, false
}

// securityHeaders are sent on every answer. The pages use no inline script or
// style, so a strict CSP costs nothing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// guard wraps the mux with the checks every request goes through, in order:
// headers, Host allow-list, token, Origin on state-changing requests.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.recoverRequest(w, r)
		securityHeaders(w.Header())
		if !s.hostAllowed(r.Host) {
			s.writeError(w, r, &StatusError{Status: http.StatusForbidden,
				Msg:  "host " + quoteHost(r.Host) + " is not allowed",
				Hint: "open fitbench at http://127.0.0.1:PORT or add the name with serve --allow-host"})
			return
		}
		if s.cfg.Token != "" && r.URL.Path != "/healthz" {
			ok, fromQuery := s.tokenOK(r)
			if !ok {
				s.writeError(w, r, &StatusError{Status: http.StatusUnauthorized,
					Msg:  "a token is required",
					Hint: "open the page once with ?token=YOUR_TOKEN, or send Authorization: Bearer YOUR_TOKEN"})
				return
			}
			if fromQuery {
				http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.cfg.Token, Path: "/",
					HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			}
		}
		stateChanging := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		isUpgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		if (stateChanging || isUpgrade) && !originAllowed(r) {
			s.writeError(w, r, &StatusError{Status: http.StatusForbidden,
				Msg:  "cross-origin request refused",
				Hint: "use the fitbench pages served by this server"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// quoteHost keeps a hostile Host header from breaking the message.
func quoteHost(h string) string {
	if len(h) > 100 {
		h = h[:100]
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' {
			return '?'
		}
		return r
	}, h) + `"`
}
