package hardware

import (
	"fmt"

	"github.com/fitbench/fitbench/internal/estimate"
)

// Apple Silicon shares one memory between CPU and GPU. Metal lets the GPU
// wire only its "recommended working set" (MTLDevice
// recommendedMaxWorkingSetSize), which llama.cpp's Metal backend reports as
// the device's free and total memory (ggml-metal: ggml_backend_metal_device_get_memory)
// and so plans -ngl against. By default macOS sets it to about two thirds of
// RAM on machines up to 32 GiB and three quarters above (measured:
// 16 GiB → 10922.67 MiB, 32 GiB → 21845.34 MiB, 64 GiB → 49152 MiB, as
// llama.cpp logs "recommendedMaxWorkingSetSize"); `sudo sysctl
// iogpu.wired_limit_mb=N` raises it to N MiB until the next reboot.

// appleCPUShare is the part of an Apple chip's memory bandwidth its CPU
// cores reach on their own (AnandTech's M1 Max review measured about 243 of
// 409.6 GB/s from the CPU): the speed of layers left on the CPU side.
const appleCPUShare = 0.6

// AppleWorkingSet is the GPU's share of totalBytes of unified memory:
// wiredLimitMB when set (non-zero), else the default fraction.
func AppleWorkingSet(totalBytes, wiredLimitMB uint64) uint64 {
	if wiredLimitMB > 0 {
		return min(wiredLimitMB<<20, totalBytes)
	}
	if totalBytes <= 32<<30 {
		return totalBytes / 3 * 2
	}
	return totalBytes / 4 * 3
}

// appleGPU is the GPU side of a Mac with totalBytes of unified memory.
func appleGPU(k Known, totalBytes, wiredLimitMB uint64) resolvedGPU {
	ws := AppleWorkingSet(totalBytes, wiredLimitMB)
	name := k.Name
	if k.VRAMGiB == 0 || uint64(k.VRAMGiB*(1<<30)) != totalBytes {
		// The display name carries the size the table chose; say the real one.
		name = fmt.Sprintf("%s (%.0f GB)", trimSize(k.Name), float64(totalBytes)/(1<<30))
	}
	// Metal needs no CUDA-style context; Ollama reserves 512 MiB per Metal
	// device (REFERENCE: "512 MiB on Metal"), the same as DefaultGPUOverhead.
	return resolvedGPU{GPU: estimate.GPU{Name: name, VRAMBytes: ws, BandwidthGBs: k.BandwidthGBs, FP16TFLOPS: k.FP16TFLOPS},
		unified: true, totalBytes: totalBytes, wiredMB: wiredLimitMB}
}

// trimSize drops a trailing "64GB" from a display name.
func trimSize(name string) string {
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == ' ' {
			if tail := name[i+1:]; len(tail) > 2 && tail[len(tail)-2:] == "GB" {
				return name[:i]
			}
			break
		}
	}
	return name
}

func appleNote(g resolvedGPU) Note {
	wiredLimitMB := g.wiredMB
	total := float64(g.totalBytes) / 1e9 // GB = 10^9 bytes, the unit of every figure fitbench prints
	ws := float64(g.VRAMBytes) / 1e9
	if wiredLimitMB > 0 {
		return Note{Text: fmt.Sprintf("unified memory: the GPU may use %.1f of %.1f GB (iogpu.wired_limit_mb = %d)", ws, total, wiredLimitMB)}
	}
	return Note{Text: fmt.Sprintf("unified memory: the GPU may use %.1f of %.1f GB (Metal's default working set); CPU and GPU share the rest with macOS and open apps", ws, total),
		CLI:  "sudo sysctl iogpu.wired_limit_mb=N raises the GPU's share",
		Page: "macOS can raise the GPU's share (iogpu.wired_limit_mb)"}
}
