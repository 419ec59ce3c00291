package hardware

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
)

// Override is what the user asked for (--gpu, --vram, --gpus, --cpu-only).
type Override struct {
	GPU     string  `json:"gpu,omitempty"`     // "RTX 4080" or a list "4090,3090"
	VRAMGB  float64 `json:"vram_gb,omitempty"` // GiB per GPU, overrides the table/detection
	GPUs    int     `json:"gpus,omitempty"`    // count of identical GPUs
	CPUOnly bool    `json:"cpu_only,omitempty"`
}

// DefaultCPUBandwidth is the assumed effective system-RAM bandwidth in GB/s
// (dual-channel DDR4/DDR5 desktop measures 35–60 GB/s); set FITBENCH_RAM_BW to
// a measured value.
const DefaultCPUBandwidth = 40.0

// Resolve turns detection plus overrides into the estimate target and notes
// that say what was assumed.
func Resolve(h Hardware, o Override) (estimate.Target, []string) {
	threads := h.CPUCores // llama.cpp's default: one thread per physical core
	if threads <= 0 {
		threads = h.CPUThreads
	}
	t := estimate.Target{RAMBytes: h.RAMAvailBytes, CPUThreads: threads, CPUBandwidth: DefaultCPUBandwidth}
	if t.RAMBytes == 0 {
		t.RAMBytes = h.RAMTotalBytes
	}
	t.CPUGFLOPS = float64(max(threads, 1)) * 50 // ~50 GFLOPS/thread with AVX2 FMA
	var notes []string
	if v, err := strconv.ParseFloat(os.Getenv("FITBENCH_RAM_BW"), 64); err == nil && v > 0 {
		t.CPUBandwidth = v
		notes = append(notes, fmt.Sprintf("system RAM bandwidth %.0f GB/s (FITBENCH_RAM_BW)", v))
	} else {
		notes = append(notes, fmt.Sprintf("system RAM bandwidth assumed %.0f GB/s (set FITBENCH_RAM_BW to your measurement)", DefaultCPUBandwidth))
	}
	if o.CPUOnly {
		return t, append(notes, "CPU only (--cpu-only)")
	}
	var names []string
	if o.GPU != "" {
		for _, n := range strings.Split(o.GPU, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 1 && o.GPUs > 1 {
			for len(names) < o.GPUs {
				names = append(names, names[0])
			}
		}
		for _, n := range names {
			g, note := fromName(n, o.VRAMGB)
			t.GPUs = append(t.GPUs, g)
			if note != "" {
				notes = append(notes, note)
			}
		}
		return t, notes
	}
	for _, d := range h.GPUs {
		g, note := fromName(d.Name, o.VRAMGB)
		if o.VRAMGB == 0 && d.VRAMBytes > 0 {
			g.VRAMBytes, g.FreeBytes = d.VRAMBytes, d.FreeBytes
		}
		t.GPUs = append(t.GPUs, g)
		if note != "" {
			notes = append(notes, note)
		}
	}
	if o.GPUs > 0 && len(t.GPUs) > o.GPUs {
		t.GPUs = t.GPUs[:o.GPUs]
	}
	if len(t.GPUs) == 0 {
		if o.VRAMGB > 0 {
			g, _ := fromName("GPU", o.VRAMGB)
			t.GPUs = append(t.GPUs, g)
			return t, append(notes, fmt.Sprintf("generic GPU with %.0f GiB (--vram)", o.VRAMGB))
		}
		notes = append(notes, "no GPU detected: analysing for the CPU (use --gpu \"RTX 4080\" or --vram 16 to target a GPU)")
	}
	return t, notes
}

func fromName(name string, vramGB float64) (estimate.GPU, string) {
	g := estimate.GPU{Name: name, BandwidthGBs: 300, FP16TFLOPS: 30}
	note := ""
	if k, ok := Lookup(name); ok {
		g.Name, g.BandwidthGBs, g.FP16TFLOPS = k.Name, k.BandwidthGBs, k.FP16TFLOPS
		g.VRAMBytes = uint64(k.VRAMGiB * (1 << 30))
	} else {
		note = fmt.Sprintf("GPU %q not in the table: assuming 300 GB/s and 30 FP16 TFLOPS", name)
	}
	if vramGB > 0 {
		g.VRAMBytes = uint64(vramGB * (1 << 30))
	}
	if g.VRAMBytes == 0 {
		note = fmt.Sprintf("GPU %q: unknown VRAM, pass --vram", name)
	}
	return g, note
}
