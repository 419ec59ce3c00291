package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/localhub"
)

// targetJSON is the part of the analysis JSON these tests read.
type targetJSON struct {
	Verdict  string   `json:"verdict"`
	Notes    []string `json:"notes"`
	Warnings []string `json:"warnings"`
	Memory   struct {
		Devices []struct {
			Name   string `json:"name"`
			Layers int    `json:"layers"`
		} `json:"devices"`
	} `json:"memory"`
	Hardware struct {
		Label     string   `json:"label"`
		Notes     []string `json:"notes"`
		PageNotes []string `json:"page_notes"`
		Target    struct {
			GPUs []struct {
				Name      string  `json:"name"`
				VRAMBytes uint64  `json:"vram_bytes"`
				Split     float64 `json:"split"`
			} `json:"gpus"`
			RAMBytes uint64 `json:"ram_bytes"`
			Unified  bool   `json:"unified_memory"`
		} `json:"target"`
	} `json:"hardware"`
}

// analyzeBoth runs one analysis as JSON and as the human report.
func analyzeBoth(t *testing.T, f *fixture, args ...string) (targetJSON, string) {
	t.Helper()
	var j targetJSON
	r := f.ok("", append([]string{"analyze", smallRepo + ":Q8_0", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return j, f.ok("", append([]string{"analyze", smallRepo + ":Q8_0"}, args...)...).stdout
}

// TestAnalyzeTargetNotes: every note and warning of the JSON is in the human
// report, and the page's phrasing carries no command-line flag.
func TestAnalyzeTargetNotes(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	for _, args := range [][]string{
		{"--gpu", "RTX 4080"},
		{"--gpu", "RTX 9999", "--vram", "24"}, // unknown name with its memory: a note, not an error
		{"--gpu", "H100", "--vram", "80"},     // ambiguous with memory: the slowest, said so
		{"--vram", "4", "--gpus", "2"},
		{"--gpu", "M3 Max 64GB"},
		{"--cpu-only"},
	} {
		j, human := analyzeBoth(t, f, args...)
		all := append(append(append([]string{}, j.Hardware.Notes...), j.Notes...), j.Warnings...)
		if len(j.Hardware.Notes) == 0 {
			t.Errorf("%v: no hardware notes", args)
		}
		for _, n := range all {
			if !strings.Contains(human, "note: "+n) {
				t.Errorf("%v: note %q missing from the report:\n%s", args, n, human)
			}
		}
		if len(j.Hardware.PageNotes) != len(j.Hardware.Notes) {
			t.Errorf("%v: %d page notes for %d notes", args, len(j.Hardware.PageNotes), len(j.Hardware.Notes))
		}
		for _, n := range j.Hardware.PageNotes {
			if strings.Contains(n, "--") {
				t.Errorf("%v: page note names a flag: %q", args, n)
			}
		}
	}
}

// TestAnalyzeGPUNames: the names of the issue, through the real binary.
func TestAnalyzeGPUNames(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	for _, c := range []struct {
		gpu, errWant, hintWant string
	}{
		{"H100", "matches several products: H100 SXM, H100 PCIe, H100 NVL", "--vram"},
		{"RTX 9999", "not in fitbench's GPU table", "--vram"},
		{"Apple M3 Max", "comes with different memory sizes", "--vram"},
		{"A100", "A100 SXM 80GB", "--gpu"},
	} {
		r := f.run("", "analyze", smallRepo+":Q8_0", "--gpu", c.gpu)
		if r.code != 1 || !strings.Contains(r.stderr, c.errWant) || !strings.Contains(r.stderr, "hint:") || !strings.Contains(r.stderr, c.hintWant) {
			t.Errorf("--gpu %q: want %q and a hint with %q; got %s", c.gpu, c.errWant, c.hintWant, r)
		}
		if strings.Contains(r.stdout+r.stderr, "0 GiB") {
			t.Errorf("--gpu %q became a 0 GiB GPU: %s", c.gpu, r)
		}
	}
	j, human := analyzeBoth(t, f, "--gpu", "NVIDIA H100 80GB HBM3")
	if j.Verdict != "fits" || !strings.Contains(j.Hardware.Label, "H100 SXM (85.9 GB)") || !strings.Contains(human, "✅ Fits on H100 SXM") {
		t.Errorf("nvidia-smi H100 name: %+v\n%s", j.Hardware, human)
	}
	j, _ = analyzeBoth(t, f, "--gpu", "RTX 3080 Ti")
	if len(j.Hardware.Target.GPUs) != 1 || j.Hardware.Target.GPUs[0].VRAMBytes != 12<<30 {
		t.Errorf("RTX 3080 Ti: %+v", j.Hardware.Target)
	}
	if r := f.run("", "analyze", smallRepo+":Q8_0", "--vram", "lots"); r.code != 2 || !strings.Contains(r.stderr, "--vram") {
		t.Errorf("bad --vram: %s", r)
	}
	if r := f.run("", "analyze", smallRepo+":Q8_0", "--gpu", "4090,3090", "--tensor-split", "1"); r.code != 1 || !strings.Contains(r.stderr, "tensor split has 1 shares for 2 GPUs") {
		t.Errorf("short --tensor-split: %s", r)
	}
}

// TestAnalyzeSeveralGPUs: lists of names and sizes, --gpus, --tensor-split;
// every device is shown with its share.
func TestAnalyzeSeveralGPUs(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	j, human := analyzeBoth(t, f, "--vram", "4", "--gpus", "2")
	if len(j.Hardware.Target.GPUs) != 2 || j.Hardware.Target.GPUs[1].VRAMBytes != 4<<30 {
		t.Fatalf("--vram 4 --gpus 2: %+v", j.Hardware.Target)
	}
	for _, want := range []string{"GPU0 GPU (", "GPU1 GPU (", "50% of the layer split"} {
		if !strings.Contains(human, want) {
			t.Errorf("--vram 4 --gpus 2 report lacks %q:\n%s", want, human)
		}
	}
	j, human = analyzeBoth(t, f, "--gpu", "4090,3060", "--vram", "24,12", "--tensor-split", "3,1")
	if len(j.Hardware.Target.GPUs) != 2 || j.Hardware.Target.GPUs[1].Name != "RTX 3060 12GB" || j.Hardware.Target.GPUs[0].Split != 3 {
		t.Fatalf("names + sizes + split: %+v", j.Hardware.Target)
	}
	if !strings.Contains(human, "GPU0 RTX 4090 (") || !strings.Contains(human, "75% of the layer split") ||
		!strings.Contains(human, "GPU1 RTX 3060 12GB (") || !strings.Contains(human, "25% of the layer split") {
		t.Errorf("split report:\n%s", human)
	}
	if j.Memory.Devices[0].Layers <= j.Memory.Devices[1].Layers {
		t.Errorf("3:1 split: %+v", j.Memory.Devices)
	}
}

// TestAnalyzeAppleUnified: a Mac named by chip and memory is analysed as
// unified memory, and the verdict says so.
func TestAnalyzeAppleUnified(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	j, human := analyzeBoth(t, f, "--gpu", "M3 Max 64GB")
	if !j.Hardware.Target.Unified || j.Hardware.Target.RAMBytes != 64<<30 || j.Hardware.Target.GPUs[0].VRAMBytes != 48<<30 {
		t.Fatalf("target: %+v", j.Hardware.Target)
	}
	if !strings.Contains(human, "unified memory") || !strings.Contains(human, "51.5 GB working set") {
		t.Errorf("report does not speak of unified memory:\n%s", human)
	}
}
