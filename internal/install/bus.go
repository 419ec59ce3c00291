package install

import (
	"sync"
)

// Status values of a progress Event, in the order a job moves through them.
const (
	StatusAnalyzing    = "analyzing"
	StatusDownloading  = "downloading"
	StatusVerifying    = "verifying"
	StatusRegistering  = "registering"
	StatusBenchmarking = "benchmarking"
	StatusComplete     = "complete"
	StatusFailed       = "failed"
)

// Event is one progress snapshot of an install job. It is the exact JSON the
// WebSocket /ws/model-install/{model_id} sends, and what the CLI bar renders.
type Event struct {
	ModelID  string  `json:"model_id"`
	Status   string  `json:"status"`
	Progress float64 `json:"progress"` // 0–100 within the current status
	Bytes    int64   `json:"bytes,omitempty"`
	Total    int64   `json:"total,omitempty"`
	Speed    float64 `json:"speed,omitempty"` // bytes/s while downloading
	ETA      float64 `json:"eta_s,omitempty"`
	Sample   int     `json:"sample,omitempty"`
	Samples  int     `json:"samples,omitempty"`
	Message  string  `json:"message,omitempty"`
	Error    string  `json:"error,omitempty"`
	Hint     string  `json:"hint,omitempty"`
}

// Final reports whether no further events follow this one.
func (e Event) Final() bool { return e.Status == StatusComplete || e.Status == StatusFailed }

// Bus fans progress events of many jobs out to any number of subscribers. A
// subscriber that joins late first receives the job's latest event, so a page
// opened mid-download shows the current state at once. Slow subscribers never
// block the job: intermediate events are dropped for them, the final one is not.
type Bus struct {
	mu     sync.Mutex
	last   map[string]Event
	subs   map[string]map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch chan Event
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{last: map[string]Event{}, subs: map[string]map[*subscriber]struct{}{}}
}

// Publish records ev as the job's current state and delivers it.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last[ev.ModelID] = ev
	for s := range b.subs[ev.ModelID] {
		deliver(s, ev)
	}
	if ev.Final() {
		for s := range b.subs[ev.ModelID] {
			close(s.ch)
		}
		delete(b.subs, ev.ModelID)
	}
}

// deliver never blocks: when the buffer is full the oldest event is dropped,
// because only the newest state matters to a progress bar.
func deliver(s *subscriber, ev Event) {
	for {
		select {
		case s.ch <- ev:
			return
		default:
			select {
			case <-s.ch:
			default:
			}
		}
	}
}

// Last returns the latest event of a job, if any.
func (b *Bus) Last(modelID string) (Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev, ok := b.last[modelID]
	return ev, ok
}

// Subscribe joins a job's stream. The channel first yields the current state (if
// any) and is closed after the final event; cancel leaves early without
// disturbing the job.
func (b *Bus) Subscribe(modelID string) (events <-chan Event, cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &subscriber{ch: make(chan Event, 16)}
	last, ok := b.last[modelID]
	if ok {
		s.ch <- last
		if last.Final() {
			close(s.ch)
			return s.ch, func() {}
		}
	}
	if b.subs[modelID] == nil {
		b.subs[modelID] = map[*subscriber]struct{}{}
	}
	b.subs[modelID][s] = struct{}{}
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, still := b.subs[modelID][s]; still {
				delete(b.subs[modelID], s)
				close(s.ch)
			}
		})
	}
}
