package estimate

import (
	"strings"
	"testing"
)

// TestUnifiedMemory: on Apple Silicon the GPU working set and the CPU side
// come out of one memory. The same split that fits a 16 GiB GPU + 16 GiB of
// RAM does not fit 16 GiB of unified memory.
func TestUnifiedMemory(t *testing.T) {
	s := toy(40) // 40 × 100 MiB layers ≈ 4.2 GB of weights
	gpu := GPU{Name: "GPU", VRAMBytes: 3 << 30, BandwidthGBs: 400, FP16TFLOPS: 14}
	discrete := Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{gpu}, RAMBytes: 4 << 30}})
	if discrete.Verdict != VerdictFitsOffload {
		t.Fatalf("discrete: %s", discrete.Verdict)
	}
	// Unified: GPU part (≈ 3 GiB) + CPU part (≈ 1.4 GB) > 4 GiB of memory.
	unified := Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{gpu}, RAMBytes: 4 << 30, Unified: true}})
	if unified.Verdict != VerdictNoFit {
		t.Fatalf("unified 4 GiB: %s (devices %+v)", unified.Verdict, unified.Memory.Devices)
	}
	// With 8 GiB of unified memory it fits, with the same GPU share.
	big := Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{gpu}, RAMBytes: 8 << 30, Unified: true}})
	if big.Verdict != VerdictFitsOffload || big.GPULayers != discrete.GPULayers {
		t.Fatalf("unified 8 GiB: %s, %d layers (discrete %d)", big.Verdict, big.GPULayers, discrete.GPULayers)
	}
}

// TestRAMUnknown: without system RAM the estimate never claims that what the
// GPU cannot hold fits.
func TestRAMUnknown(t *testing.T) {
	s := toy(40)
	small := GPU{Name: "GPU", VRAMBytes: 2 << 30, BandwidthGBs: 400}
	r := Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{small}, RAMUnknown: true}})
	if r.WillFit || r.Verdict != VerdictRAMUnknown || !strings.Contains(strings.Join(r.Notes, " "), "system RAM unknown") {
		t.Fatalf("offload with unknown RAM: %s %v %v", r.Verdict, r.WillFit, r.Notes)
	}
	r = Analyze(Input{Summary: s, Context: 4096, Target: Target{RAMUnknown: true}})
	if r.WillFit || r.Verdict != VerdictRAMUnknown {
		t.Fatalf("CPU only with unknown RAM: %s", r.Verdict)
	}
	big := GPU{Name: "GPU", VRAMBytes: 24 << 30, BandwidthGBs: 1000}
	r = Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{big}, RAMUnknown: true}})
	if !r.WillFit || r.Verdict != VerdictFits {
		t.Fatalf("whole on the GPU with unknown RAM: %s", r.Verdict)
	}
}

// TestTensorSplit: --tensor-split shares replace the free-memory split.
func TestTensorSplit(t *testing.T) {
	a, b := GPU{VRAMBytes: 24 << 30}, GPU{VRAMBytes: 24 << 30}
	if sp := splitByFree([]GPU{a, b}); sp[0] != 0.5 {
		t.Fatalf("default split %v", sp)
	}
	a.Split, b.Split = 3, 1
	if sp := splitByFree([]GPU{a, b}); sp[0] != 0.75 || sp[1] != 1 {
		t.Fatalf("tensor split %v", sp)
	}
	s := toy(40)
	r := Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{a, b}, RAMBytes: 64 << 30}})
	if l0, l1 := r.Memory.Devices[0].Layers, r.Memory.Devices[1].Layers; l0 <= 2*l1 {
		t.Fatalf("3:1 split gave %d and %d layers", l0, l1)
	}
}

// TestGPUTooSmall: a GPU too small for even the runtime buffers does not make
// a model that system RAM holds "too large".
func TestGPUTooSmall(t *testing.T) {
	s := toy(8)
	tiny := GPU{Name: "GPU", VRAMBytes: 256 << 20, BandwidthGBs: 300}
	r := Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{tiny}, RAMBytes: 24 << 30}})
	if !r.WillFit || r.Verdict != VerdictFitsOffload || r.GPULayers != 0 || !strings.Contains(strings.Join(r.Notes, " "), "too small") {
		t.Fatalf("tiny GPU, 24 GiB RAM: %s %v ngl %d %v", r.Verdict, r.WillFit, r.GPULayers, r.Notes)
	}
	r = Analyze(Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{tiny}, RAMBytes: 256 << 20}})
	if r.WillFit || r.Verdict != VerdictNoFit {
		t.Fatalf("tiny GPU, tiny RAM: %s", r.Verdict)
	}
}
