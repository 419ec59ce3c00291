package server

import (
	"runtime"
	"testing"
	"time"
)

var sink [][]byte

// TestMemoryReleasedAfterAnalyses: memory an analysis used goes back to the
// operating system once the last analysis ended, instead of staying with the
// process (issue 14.5: 3.1 GB kept after four analyses ended).
func TestMemoryReleasedAfterAnalyses(t *testing.T) {
	var m memReleaser
	m.delay = 10 * time.Millisecond
	end1, end2 := m.begin(), m.begin()
	for i := 0; i < 200; i++ {
		sink = append(sink, make([]byte, 1<<20))
	}
	for _, b := range sink {
		b[0] = 1
	}
	sink = nil
	end1()
	end2()
	var st runtime.MemStats
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.ReadMemStats(&st)
		kept := st.HeapSys - st.HeapReleased
		if kept < 64<<20 {
			t.Logf("heap held from the OS: %d MB", kept>>20)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d MB of freed heap still held by the process", kept>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
