package download

import (
	"context"
	"sync"
	"time"
)

// Connections are added one at a time, and only while each is slow. A single
// connection that already moves rampPerConn bytes/s is limited by CPU or disk
// (loopback, a fast LAN), where more connections only add overhead — on 2
// cores 8 loopback connections ran at 0.75× the speed of one. A capped or
// far-away CDN connection is slower, and each added one multiplies throughput.
const (
	rampPerConn  = 100 << 20
	rampInterval = 250 * time.Millisecond
)

// workerPool runs chunk workers; allDone closes when the last one has returned
// (every chunk taken, or the download failed). No worker starts after that.
type workerPool struct {
	d       *dl
	ctx     context.Context
	cancel  context.CancelCauseFunc
	mu      sync.Mutex
	running int
	done    bool
	allDone chan struct{}
}

// spawn starts one more worker unless the pool has finished.
func (p *workerPool) spawn() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.running++
	go func() {
		if err := p.d.worker(p.ctx); err != nil {
			p.cancel(err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.running--
		if p.running == 0 {
			p.done = true
			close(p.allDone)
		}
	}()
	return true
}

func (p *workerPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// ramp doubles the workers, up to max, while the measured rate per worker stays below
// rampPerConn and chunks remain to be taken.
func (p *workerPool) ramp(max int) {
	t := time.NewTicker(rampInterval)
	defer t.Stop()
	last := p.d.prog.fetched.Load()
	for {
		select {
		case <-p.allDone:
			return
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		now := p.d.prog.fetched.Load()
		rate := float64(now-last) / rampInterval.Seconds()
		last = now
		n := p.size()
		if n == 0 || n >= max || p.d.next.Load() >= int64(len(p.d.chunks)) {
			continue
		}
		if rate/float64(n) < rampPerConn {
			for i := 0; i < min(n, max-n); i++ { // double: 1, 2, 4, 8 within a second
				p.spawn()
			}
		}
	}
}
