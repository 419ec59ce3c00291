// Package hardware detects GPUs, RAM and CPU, knows common GPUs' memory
// bandwidth and FLOPS, and resolves user overrides into an estimate.Target.
package hardware

import (
	"regexp"
	"strings"
)

// Known is a GPU model from the table.
type Known struct {
	Name         string  `json:"name"`
	VRAMGiB      float64 `json:"vram_gib"`
	BandwidthGBs float64 `json:"bandwidth_gb_s"`
	FP16TFLOPS   float64 `json:"fp16_tflops"` // dense FP16 tensor (FP32 accumulate where split)
}

// table: vendor spec sheets (VRAM, memory bandwidth, dense FP16 tensor TFLOPS).
// Longer names first so "4070 Ti Super" wins over "4070 Ti" and "4070".
var table = []Known{
	{"RTX 4070 Ti Super", 16, 672, 88.2}, {"RTX 4080 Super", 16, 736, 104.4},
	{"RTX 4060 Ti", 16, 288, 44.1}, {"RTX 4070 Super", 12, 504, 71}, {"RTX 4070 Ti", 12, 504, 80.2},
	{"RTX 5060 Ti", 16, 448, 47}, {"RTX 5070 Ti", 16, 896, 88}, {"RTX 6000 Ada", 48, 960, 182},
	{"RTX 3060", 12, 360, 25.5}, {"RTX 3070", 8, 448, 40.6}, {"RTX 3080", 10, 760, 59.5}, {"RTX 3090", 24, 936, 71},
	{"RTX 4060", 8, 272, 30.2}, {"RTX 4070", 12, 504, 58.3}, {"RTX 4080", 16, 716.8, 97.5}, {"RTX 4090", 24, 1008, 165.2},
	{"RTX 5070", 12, 672, 62}, {"RTX 5080", 16, 960, 112.6}, {"RTX 5090", 32, 1792, 209.5},
	{"RTX A4000", 16, 448, 76.7}, {"RTX A5000", 24, 768, 111}, {"RTX A6000", 48, 768, 154.8},
	{"A100 80GB", 80, 2039, 312}, {"A100 40GB", 40, 1555, 312}, {"A10", 24, 600, 125},
	{"H100 SXM", 80, 3350, 989}, {"H100 PCIe", 80, 2000, 756}, {"L40S", 48, 864, 362}, {"L4", 24, 300, 121},
	{"RX 7900 XTX", 24, 960, 122.8}, {"RX 7900 XT", 20, 800, 103},
}

// Table returns the known GPUs.
func Table() []Known { return append([]Known(nil), table...) }

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

func norm(s string) string {
	s = strings.ToLower(s)
	for _, w := range []string{"nvidia", "geforce", "amd", "radeon", "tesla", "pcie-", "-"} {
		s = strings.ReplaceAll(s, w, " ")
	}
	return " " + strings.Join(strings.Fields(nonAlnum.ReplaceAllString(s, " ")), " ") + " "
}

// Lookup matches a name fuzzily: "4080", "RTX 4080", "NVIDIA GeForce RTX 4080",
// "NVIDIA A100-SXM4-80GB". The longest table entry whose words all appear wins.
func Lookup(name string) (Known, bool) {
	n := norm(name)
	best, bestLen := Known{}, 0
	for _, k := range table {
		words := strings.Fields(norm(k.Name))
		ok := true
		for _, w := range words {
			if w == "rtx" || w == "rx" {
				continue // "4080" alone matches "RTX 4080"
			}
			if w == "80gb" && strings.Contains(n, " 80") {
				continue
			}
			if !strings.Contains(n, " "+w+" ") {
				ok = false
				break
			}
		}
		if ok && len(k.Name) > bestLen {
			best, bestLen = k, len(k.Name)
		}
	}
	return best, bestLen > 0
}
