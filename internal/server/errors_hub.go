package server

import (
	"errors"
	"net/http"

	"github.com/fitbench/fitbench/internal/hub"
)

// classifyHub maps a Hub failure to the status a client can act on: 404 for
// a repo or file that does not exist, 403 for a gated repo, 429 when rate
// limited, 400 for a URL to a host that is not the Hub, 502 when the Hub cannot be reached or answers oddly.
func classifyHub(err error) (int, string, string, bool) {
	var he *hub.Error
	if !errors.As(err, &he) {
		return 0, "", "", false
	}
	status := http.StatusBadGateway
	switch he.Kind {
	case hub.RepoNotFound, hub.EntryNotFound, hub.RevisionNotFound, hub.NoVariant:
		status = http.StatusNotFound
	case hub.Gated, hub.Unauthorized:
		// Not 401: that would read as "fitbench's own token is wrong".
		status = http.StatusForbidden
	case hub.Refused:
		status = http.StatusBadRequest // a URL pointing somewhere other than the Hub
	case hub.RateLimited:
		status = http.StatusTooManyRequests
	case hub.Unreachable, hub.Offline, hub.Expired, hub.BadResponse:
		status = http.StatusBadGateway
	}
	return status, he.Msg, he.Hint, true
}
