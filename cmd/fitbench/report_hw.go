package main

import (
	"fmt"
	"slices"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/estimate"
)

// targetVerdict is the verdict line for targets the plain wording gets wrong:
// unified memory (Apple Silicon: no "VRAM + RAM", one memory shared) and an
// unknown system RAM (nothing is claimed to fit).
func targetVerdict(r *analyze.Result) (string, bool) {
	t := r.Hardware.Target
	if r.Verdict == estimate.VerdictRAMUnknown {
		if len(t.GPUs) == 0 {
			return "❔ Cannot tell: no GPU, and system RAM could not be read (--ram GB gives it)", true
		}
		return fmt.Sprintf("❔ Cannot tell: %d of %d layers fit on %s, the rest needs system RAM, which could not be read (--ram GB gives it)",
			r.GPULayers, r.TotalLayers, r.Hardware.Label), true
	}
	if !t.Unified || len(t.GPUs) == 0 {
		return "", false
	}
	name, ws, total := t.GPUs[0].Name, float64(t.GPUs[0].VRAMBytes)/1e9, float64(t.RAMBytes)/1e9 // GB = 10^9 bytes, as every figure
	switch r.Verdict {
	case estimate.VerdictFits:
		return fmt.Sprintf("✅ Fits in %s's unified memory: all on the GPU, within its %.1f GB working set", name, ws), true
	case estimate.VerdictFitsOffload:
		return fmt.Sprintf("⚠️  Fits in %s's unified memory, but only %d of %d layers within the GPU's %.1f GB working set; %.2f GB run on the CPU",
			name, r.GPULayers, r.TotalLayers, ws, r.Memory.CPUOffloadGB), true
	case estimate.VerdictNoFit:
		return fmt.Sprintf("❌ Too large for %s: does not fit in %.1f GB of unified memory", name, total), true
	}
	return "", false
}

// deviceLabel names a device row: "GPU0 RTX 4090, 67% of the split".
func deviceLabel(r *analyze.Result, d estimate.Device) string {
	t := r.Hardware.Target
	for i, g := range t.GPUs {
		if d.Name == fmt.Sprintf("GPU%d", i) {
			layers := fmt.Sprintf("%d layers", d.Layers)
			if d.Layers == 1 {
				layers = "1 layer"
			}
			return fmt.Sprintf("%s %s (%s%s)", d.Name, g.Name, layers, shareText(t, i))
		}
	}
	if d.Name == "CPU" && t.Unified {
		return "CPU (unified memory)"
	}
	return d.Name
}

// reportNotes is every note the result carries, each once, CLI phrasing.
func reportNotes(r *analyze.Result) []string {
	var out []string
	for _, list := range [][]string{r.Hardware.Notes, r.Notes, r.Warnings} {
		for _, n := range list {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

