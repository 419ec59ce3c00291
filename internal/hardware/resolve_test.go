package hardware

import (
	"errors"
	"math"
	"strings"
	"testing"
)

const giB = 1 << 30

func notesText(ns []Note) string { return strings.Join(CLINotes(ns), "\n") }

func TestResolveCPUAndRAM(t *testing.T) {
	tg, notes, err := Resolve(Hardware{RAMAvailBytes: 16 * giB, CPUThreads: 8}, Override{})
	if err != nil || len(tg.GPUs) != 0 || !strings.Contains(notesText(notes), "analysed for the CPU only") {
		t.Fatalf("no gpu: %+v %v %v", tg, notes, err)
	}
	// RAM unknown (an OS whose RAM could not be read): said, and marked for the estimate.
	tg, notes, _ = Resolve(Hardware{CPUThreads: 8}, Override{GPU: "RTX 4090"})
	if !tg.RAMUnknown || !strings.Contains(notesText(notes), "--ram") || strings.Contains(strings.Join(PageNotes(notes), " "), "--") {
		t.Fatalf("ram unknown: %+v %v", tg, notes)
	}
	tg, _, _ = Resolve(Hardware{}, Override{RAMGB: 32})
	if tg.RAMUnknown || tg.RAMBytes != 32*giB {
		t.Fatalf("--ram: %+v", tg)
	}
	tg, _, _ = Resolve(Hardware{GPUs: []GPU{{Name: "NVIDIA GeForce RTX 4080", VRAMBytes: 16 * giB}}}, Override{CPUOnly: true})
	if len(tg.GPUs) != 0 {
		t.Fatal("cpu-only kept a GPU")
	}
}

func TestResolveUnknownNames(t *testing.T) {
	// Never a 0 GiB GPU: an unknown or ambiguous name is an error…
	for _, name := range []string{"RTX 9999", "H100", "Apple M3 Max", "4090,RTX 9999"} {
		_, _, err := Resolve(Hardware{RAMAvailBytes: 24 * giB}, Override{GPU: name})
		var me *MatchError
		if !errors.As(err, &me) {
			t.Errorf("%q: want a MatchError, got %v", name, err)
		}
	}
	// …unless the memory is given: then the GPU is used with fallback or the slowest figures.
	tg, notes, err := Resolve(Hardware{}, Override{GPU: "RTX 9999", VRAMGB: 24})
	if err != nil || len(tg.GPUs) != 1 || tg.GPUs[0].VRAMBytes != 24*giB || tg.GPUs[0].BandwidthGBs != fallbackBandwidth ||
		!strings.Contains(notesText(notes), "not in the table") {
		t.Fatalf("unknown + vram: %+v %v %v", tg.GPUs, notes, err)
	}
	tg, notes, err = Resolve(Hardware{}, Override{GPU: "H100", VRAMGB: 80})
	if err != nil || tg.GPUs[0].BandwidthGBs != 2000 || !strings.Contains(notesText(notes), "slowest") {
		t.Fatalf("ambiguous + vram: %+v %v %v", tg.GPUs, notes, err)
	}
	// A detected GPU the table does not know keeps its real memory.
	tg, notes, err = Resolve(Hardware{GPUs: []GPU{{Name: "NVIDIA Future 9000", VRAMBytes: 40 * giB, FreeBytes: 39 * giB, Vendor: "nvidia"}}}, Override{})
	if err != nil || tg.GPUs[0].VRAMBytes != 40*giB || tg.GPUs[0].FreeBytes != 39*giB || !strings.Contains(notesText(notes), "not in the table") {
		t.Fatalf("detected unknown: %+v %v %v", tg.GPUs, notes, err)
	}
	// A detected GPU without memory ([N/A]) is left out, not counted as 0 GiB.
	tg, notes, _ = Resolve(Hardware{GPUs: []GPU{{Name: "NVIDIA GB10", Vendor: "nvidia"}}, RAMAvailBytes: 100 * giB}, Override{})
	if len(tg.GPUs) != 0 || !strings.Contains(notesText(notes), "no memory") {
		t.Fatalf("0 GiB GPU: %+v %v", tg.GPUs, notes)
	}
}

func TestResolveMultiGPU(t *testing.T) {
	tg, notes, err := Resolve(Hardware{}, Override{GPU: "4090,3090"})
	if err != nil || len(tg.GPUs) != 2 || tg.GPUs[0].BandwidthGBs != 1008 || tg.GPUs[1].VRAMBytes != 24*giB ||
		!strings.Contains(notesText(notes), "free memory") {
		t.Fatalf("list: %+v %v %v", tg.GPUs, notes, err)
	}
	tg, _, err = Resolve(Hardware{}, Override{GPU: "RTX 4080", GPUs: 2})
	if err != nil || len(tg.GPUs) != 2 || tg.GPUs[1].Name != "RTX 4080" || tg.GPUs[1].VRAMBytes != 16*giB {
		t.Fatalf("name × 2: %+v %v", tg.GPUs, err)
	}
	// --vram 4 --gpus 2: two generic 4 GiB GPUs (the issue: analysed one).
	tg, _, err = Resolve(Hardware{}, Override{VRAMGB: 4, GPUs: 2})
	if err != nil || len(tg.GPUs) != 2 || tg.GPUs[0].VRAMBytes != 4*giB || tg.GPUs[1].VRAMBytes != 4*giB {
		t.Fatalf("vram × 2: %+v %v", tg.GPUs, err)
	}
	tg, _, err = Resolve(Hardware{}, Override{VRAMList: []float64{24, 12}})
	if err != nil || len(tg.GPUs) != 2 || tg.GPUs[1].VRAMBytes != 12*giB {
		t.Fatalf("vram list: %+v %v", tg.GPUs, err)
	}
	tg, _, err = Resolve(Hardware{}, Override{GPU: "4090,3060", VRAMList: []float64{24, 8}})
	if err != nil || tg.GPUs[1].Name != "RTX 3060 8GB" || tg.GPUs[1].BandwidthGBs != 240 {
		t.Fatalf("names + sizes: %+v %v", tg.GPUs, err)
	}
	// --gpus 2 alone on a machine with one detected GPU: the second is a copy, said so.
	det := Hardware{GPUs: []GPU{{Name: "NVIDIA GeForce RTX 3090", VRAMBytes: 24 * giB, FreeBytes: 23 * giB}}}
	tg, notes, err = Resolve(det, Override{GPUs: 2})
	if err != nil || len(tg.GPUs) != 2 || !strings.Contains(notesText(notes), "2 GPUs asked for, 1 detected") {
		t.Fatalf("--gpus 2 alone: %+v %v %v", tg.GPUs, notes, err)
	}
	if _, _, err = Resolve(Hardware{}, Override{GPUs: 2}); err == nil || !strings.Contains(err.Error(), "none was detected") {
		t.Fatalf("--gpus without GPUs: %v", err)
	}
	// --vram alone with a detected GPU keeps the detected model's speed.
	tg, _, err = Resolve(det, Override{VRAMGB: 48})
	if err != nil || len(tg.GPUs) != 1 || tg.GPUs[0].Name != "RTX 3090" || tg.GPUs[0].VRAMBytes != 48*giB || tg.GPUs[0].BandwidthGBs != 936 {
		t.Fatalf("--vram with detection: %+v %v", tg.GPUs, err)
	}
	tg, notes, err = Resolve(Hardware{}, Override{GPU: "4090,3090", TensorSplit: []float64{3, 1}})
	if err != nil || tg.GPUs[0].Split != 3 || tg.GPUs[1].Split != 1 || !strings.Contains(notesText(notes), "tensor split") {
		t.Fatalf("tensor split: %+v %v %v", tg.GPUs, notes, err)
	}
	for _, o := range []Override{
		{GPU: "4090,3090", TensorSplit: []float64{1}},
		{GPU: "4090,3090,4080", VRAMList: []float64{24, 12}},
		{VRAMGB: -1},
		{VRAMGB: math.NaN()},
		{GPU: "4090", TensorSplit: []float64{0}},
		{GPU: strings.Repeat("4090,", 65)},
	} {
		var oe *OverrideError
		if _, _, err := Resolve(Hardware{}, o); !errors.As(err, &oe) || oe.CLIHint() == "" && oe.Msg == "" {
			t.Errorf("%+v: want an OverrideError, got %v", o, err)
		}
	}
}

func TestAppleWorkingSet(t *testing.T) {
	// The sizes llama.cpp logs as recommendedMaxWorkingSetSize on stock macOS.
	for _, c := range []struct{ ramGiB, wantMiB float64 }{
		{16, 10922.67}, {32, 21845.33}, {64, 49152}, {128, 98304},
	} {
		got := float64(AppleWorkingSet(uint64(c.ramGiB*giB), 0)) / (1 << 20)
		if got < c.wantMiB-0.01 || got > c.wantMiB+0.01 {
			t.Errorf("%g GiB: working set %.2f MiB, want %.2f", c.ramGiB, got, c.wantMiB)
		}
	}
	if got := AppleWorkingSet(64*giB, 57344); got != 56*giB {
		t.Errorf("wired limit: %d", got)
	}
	if got := AppleWorkingSet(16*giB, 1<<20); got != 16*giB {
		t.Errorf("wired limit above RAM: %d", got)
	}
}

func TestResolveApple(t *testing.T) {
	// A Mac named on another machine: its memory is the target's RAM.
	tg, notes, err := Resolve(Hardware{RAMAvailBytes: 24 * giB}, Override{GPU: "M3 Max 64GB"})
	if err != nil || !tg.Unified || tg.RAMBytes != 64*giB || tg.GPUs[0].VRAMBytes != 48*giB || tg.GPUs[0].BandwidthGBs != 400 {
		t.Fatalf("named Mac: %+v %v", tg, err)
	}
	if tg.CPUBandwidth != 400*appleCPUShare {
		t.Fatalf("CPU-side bandwidth %g", tg.CPUBandwidth)
	}
	if n := notesText(notes); !strings.Contains(n, "unified memory") || !strings.Contains(n, "iogpu.wired_limit_mb") {
		t.Fatalf("apple note: %s", n)
	}
	// --vram is the Mac's memory for a chip named without one.
	tg, _, err = Resolve(Hardware{}, Override{GPU: "Apple M2 Ultra", VRAMGB: 192})
	if err != nil || tg.RAMBytes != 192*giB || tg.GPUs[0].VRAMBytes != 144*giB {
		t.Fatalf("M2 Ultra --vram 192: %+v %v", tg, err)
	}
	// Detected on the Mac itself, with a raised wired limit.
	h := Hardware{GPUs: []GPU{{Name: "Apple M2 Ultra", VRAMBytes: 192 * giB, Vendor: "apple"}},
		RAMTotalBytes: 192 * giB, RAMAvailBytes: 150 * giB, WiredLimitMB: 180 << 10}
	tg, notes, err = Resolve(h, Override{})
	if err != nil || !tg.Unified || tg.GPUs[0].VRAMBytes != 180*giB || tg.RAMBytes != 192*giB ||
		!strings.Contains(notesText(notes), "iogpu.wired_limit_mb = 184320") {
		t.Fatalf("detected Mac: %+v %v %v", tg, notes, err)
	}
	// A chip the table does not know is still unified memory.
	h.GPUs[0].Name = "Apple M9 Ultra"
	tg, _, err = Resolve(h, Override{})
	if err != nil || !tg.Unified || tg.GPUs[0].VRAMBytes != 180*giB {
		t.Fatalf("unknown Mac: %+v %v", tg, err)
	}
}
