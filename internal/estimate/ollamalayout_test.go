package estimate

import (
	"fmt"
	"testing"
)

const mib = 1 << 20

// Ollama packs layers onto as few GPUs as it can, largest first, and keeps its
// reserve and the graph free on each (llm/server.go buildLayout/assignLayers).
func TestOllamaBuildLayoutPacksFewestGPUs(t *testing.T) {
	layers := []uint64{10 * mib, 10 * mib, 10 * mib, 10 * mib, 5 * mib} // 4 blocks + output
	mem := olMemory{layers: layers, found: []bool{true, true}, graph: []uint64{0, 0}}
	// GPU1 is the larger: everything fits it alone, so GPU0 gets nothing
	free := []uint64{OllamaMinimumFree + 30*mib, OllamaMinimumFree + 60*mib}
	l, hang := ollamaBuildLayout(free, OllamaMinimumFree, mem, -1)
	if hang || fmt.Sprint(l.counts(2)) != "[0 5]" {
		t.Fatalf("layout %v (hang %v), want everything on GPU1", l, hang)
	}
	// with a graph of 20 MiB on GPU1 it no longer holds the 45 MiB alone:
	// both GPUs are used, the last layers on the one with less free memory
	// (greedyFit fills the list's last GPU first), the first on GPU1
	mem.graph = []uint64{0, 20 * mib}
	l, _ = ollamaBuildLayout(free, OllamaMinimumFree, mem, -1)
	if fmt.Sprint(l) != "[{1 [0 1 2]} {0 [3 4]}]" {
		t.Errorf("layout %v over two GPUs, want GPU1 blocks 0-2, GPU0 block 3 and the output", l)
	}
	// under the reserve: no layer, even when num_gpu asks for all
	small := []uint64{OllamaMinimumFree - mib, OllamaMinimumFree - mib}
	mem.graph = []uint64{0, 0}
	if l, _ := ollamaBuildLayout(small, OllamaMinimumFree, mem, 5); l.sum() != 0 {
		t.Errorf("layout %v on GPUs under Ollama's reserve", l)
	}
}

// A forced num_gpu whose layers need ≥ 16× a GPU's space makes Ollama's
// float32 binary search spin forever (seen on the rig); fitbench flags it
// (from 8×, olForceLimit) instead of planning it.
func TestOllamaForcedLayoutHang(t *testing.T) {
	layers := []uint64{20 * mib, 20 * mib, 20 * mib, 20 * mib, 20 * mib}
	mem := olMemory{layers: layers, found: []bool{true}, graph: []uint64{0}}
	if _, hang := ollamaBuildLayout([]uint64{OllamaMinimumFree + 2*mib}, OllamaMinimumFree, mem, 5); !hang {
		t.Errorf("num_gpu 5 on 2 MiB of space (50×): not flagged as Ollama's hang")
	}
	if l, hang := ollamaBuildLayout([]uint64{OllamaMinimumFree + 50*mib}, OllamaMinimumFree, mem, 5); hang || l.sum() != 5 {
		t.Errorf("num_gpu 5 on 50 MiB (2×): %v hang %v, want 5 layers forced", l, hang)
	}
	// without num_gpu the search stays in [0, 1]: never a hang
	if _, hang := ollamaBuildLayout([]uint64{OllamaMinimumFree + 2*mib}, OllamaMinimumFree, mem, -1); hang {
		t.Errorf("automatic layout flagged as a hang")
	}
}
