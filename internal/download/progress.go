package download

import (
	"sync"
	"sync/atomic"
	"time"
)

// Phases of a Snapshot.
const (
	PhaseDownloading = "downloading"
	PhaseVerifying   = "verifying"
	PhaseDone        = "done"
)

// Snapshot is the progress of one Fetch (all its files together), taken on a
// ticker from counters the workers update with atomics. Transports (the
// WebSocket, the CLI bar) only relay it.
type Snapshot struct {
	Phase string        `json:"phase"`
	Done  int64         `json:"done"`  // bytes on disk (verifying: bytes hashed) of all files
	Total int64         `json:"total"` // bytes of all files
	Speed float64       `json:"speed"` // bytes/s fetched, smoothed
	ETA   time.Duration `json:"eta"`   // 0 when unknown
	File  string        `json:"file"`  // the file being worked on
}

// fileProgress is shared by a download and every caller waiting on it.
type fileProgress struct {
	onDisk  atomic.Int64 // bytes of the file on disk (resumed ones included)
	fetched atomic.Int64 // bytes received in this process (speed)
	hashed  atomic.Int64
	phase   atomic.Value // string
}

func newFileProgress() *fileProgress {
	p := &fileProgress{}
	p.phase.Store(PhaseDownloading)
	return p
}

// reporter turns the current file's counters into Snapshots for OnProgress.
type reporter struct {
	fn    func(Snapshot)
	total int64

	mu       sync.Mutex
	base     int64 // bytes of files already finished
	cur      *fileProgress
	name     string
	lastF    int64
	lastT    time.Time
	speed    float64
	stop     chan struct{}
	finished chan struct{}
}

func newReporter(fn func(Snapshot), total int64, every time.Duration) *reporter {
	r := &reporter{fn: fn, total: total, stop: make(chan struct{}), finished: make(chan struct{}), lastT: time.Now()}
	if fn == nil {
		close(r.finished)
		return r
	}
	go func() {
		defer close(r.finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.fn(r.snapshot())
			}
		}
	}()
	return r
}

func (r *reporter) setFile(p *fileProgress, name string) {
	r.mu.Lock()
	r.cur, r.name, r.lastF = p, name, p.fetched.Load()
	r.mu.Unlock()
}

func (r *reporter) fileDone(size int64) {
	r.mu.Lock()
	r.base += size
	r.cur = nil
	r.mu.Unlock()
}

func (r *reporter) snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	s := Snapshot{Phase: PhaseDownloading, Done: r.base, Total: r.total, File: r.name}
	if c := r.cur; c != nil {
		s.Phase = c.phase.Load().(string)
		f := c.fetched.Load()
		if dt := now.Sub(r.lastT).Seconds(); dt > 0 {
			inst := float64(f-r.lastF) / dt
			if r.speed == 0 {
				r.speed = inst
			} else {
				r.speed = 0.3*inst + 0.7*r.speed // smooth out per-tick jitter
			}
		}
		r.lastF = f
		if s.Phase == PhaseVerifying {
			s.Done += c.hashed.Load()
		} else {
			s.Done += c.onDisk.Load()
		}
	}
	r.lastT = now
	s.Speed = r.speed
	if s.Phase == PhaseDownloading && r.speed > 0 {
		s.ETA = time.Duration(float64(s.Total-s.Done) / r.speed * float64(time.Second))
	}
	return s
}

// close stops the ticker and sends a last snapshot: done on success.
func (r *reporter) close(ok bool) {
	if r.fn == nil {
		return
	}
	close(r.stop)
	<-r.finished
	s := r.snapshot()
	if ok {
		s.Phase, s.Done, s.ETA = PhaseDone, s.Total, 0
	}
	r.fn(s)
}
