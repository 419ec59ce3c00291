package server

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// memReleaser hands memory back to the operating system once the last of a
// burst of analyses ends. A header read may allocate tens of MB (bounded by
// gguf.ReadOptions.MaxMemory); Go keeps freed heap for reuse and returns it
// slowly, so four concurrent analyses of a hostile header left the server at
// 3.1 GB long after they ended (issue 14.5).
type memReleaser struct {
	active  atomic.Int64
	pending atomic.Bool
	delay   time.Duration // 0 = 1 s: analyses in quick succession share one release
}

// begin marks an analysis running; call the returned func when it ends.
func (m *memReleaser) begin() func() {
	m.active.Add(1)
	return func() {
		if m.active.Add(-1) != 0 || !m.pending.CompareAndSwap(false, true) {
			return
		}
		d := m.delay
		if d <= 0 {
			d = time.Second
		}
		time.AfterFunc(d, func() {
			m.pending.Store(false)
			if m.active.Load() == 0 {
				debug.FreeOSMemory()
			}
		})
	}
}
