package localhub

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Fault is one misbehaviour to inject into upcoming requests. Faults are queued
// and consumed in order by the first requests they match.
type Fault struct {
	// Kind is one of:
	//   "429"          answer 429 with Retry-After: RetryAfter (both listeners)
	//   "500"          answer 500 (both listeners)
	//   "drop"         close the connection after After bytes of a CDN body
	//   "flip"         flip the byte at file offset After in a CDN body
	//   "ignore-range" the CDN answers 200 with the full body despite Range
	//   "expire"       the CDN answers 403 as for an expired signature
	//   "hang"         never answer (no status line, no headers) until the client gives up (both listeners)
	//   "trickle"      a CDN body sent at full speed for After bytes, then at Rate bytes/s
	Kind string
	// Path is a substring of the request path (which contains the repo-relative
	// file path); "" matches any request.
	Path       string
	Count      int // how many requests it applies to; 0 = 1
	After      int64
	RetryAfter int
	Rate       int64 // trickle: bytes per second; 0 = 1
}

// Inject queues a fault.
func (h *Hub) Inject(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	h.faults.mu.Lock()
	defer h.faults.mu.Unlock()
	h.faults.list = append(h.faults.list, &f)
}

type faultQueue struct {
	mu   sync.Mutex
	list []*Fault
}

// take consumes one use of the first queued fault whose kind is in kinds and
// whose Path matches urlPath.
func (q *faultQueue) take(urlPath string, kinds ...string) *Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.list {
		if !strings.Contains(urlPath, f.Path) {
			continue
		}
		applies := false
		for _, k := range kinds {
			applies = applies || k == f.Kind
		}
		if !applies {
			continue
		}
		out := *f
		f.Count--
		if f.Count == 0 {
			q.list = append(q.list[:i], q.list[i+1:]...)
		}
		return &out
	}
	return nil
}

// answerStatusFault writes a 429 or 500 fault, or hangs for a "hang" one; it
// reports whether it did.
func (h *Hub) answerStatusFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f == nil {
		return false
	}
	switch f.Kind {
	case "hang":
		<-r.Context().Done() // the client went away (or the hub closed)
		return true
	case "429":
		h.count(Count429, 1)
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.Header().Set("RateLimit", `"api";r=0;t=`+strconv.Itoa(f.RetryAfter))
		writeError(w, http.StatusTooManyRequests, "", "Too many requests (injected by localhub)")
		return true
	case "500":
		h.count(Count5xx, 1)
		writeError(w, http.StatusInternalServerError, "", "Internal Error (injected by localhub)")
		return true
	}
	return false
}
