package engine

import (
	"strings"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
)

// isHostDevice says whether a llama.cpp buffer device lives in system RAM
// (CPU, CPU_Mapped, CPU_REPACK, CUDA_Host…).
func isHostDevice(dev string) bool {
	d := strings.ToUpper(dev)
	return d == "" || strings.HasPrefix(d, "CPU") || strings.HasSuffix(d, "_HOST")
}

// memoryFromLog sums a load log's weights, KV, compute and output buffers into GPU
// and CPU bytes (Ollama's "total memory" summary line is not added again).
func memoryFromLog(m llamalog.Memory) (gpu, cpu int64) {
	for _, e := range m.Entries {
		if e.Kind == llamalog.Total {
			continue
		}
		if isHostDevice(e.Device) {
			cpu += int64(e.Bytes)
		} else {
			gpu += int64(e.Bytes)
		}
	}
	return gpu, cpu
}

// Measured returns GPU and CPU bytes of a memory report, preferring the load
// log's buffers (what llama.cpp allocated) over the engine's summary: for
// models on its llama.cpp runner Ollama's /api/ps reports its own up-front
// estimate, not an allocation.
func (m MemoryReport) Measured() (gpu, cpu int64, source string) {
	if m.Log != nil && len(m.Log.Entries) > 0 {
		if g, c := memoryFromLog(*m.Log); g+c > 0 {
			return g, c, "load log buffers"
		}
	}
	return m.GPUBytes, m.CPUBytes, m.Source
}
