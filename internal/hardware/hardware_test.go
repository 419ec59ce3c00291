package hardware

import (
	"context"
	"testing"
)

func TestLookup(t *testing.T) {
	for in, want := range map[string]string{"4080": "RTX 4080", "RTX 4080": "RTX 4080", "NVIDIA GeForce RTX 4080": "RTX 4080",
		"NVIDIA GeForce RTX 4070 Ti SUPER": "RTX 4070 Ti Super", "4070 ti": "RTX 4070 Ti", "NVIDIA A100-SXM4-80GB": "A100 80GB",
		"NVIDIA L4": "L4", "AMD Radeon RX 7900 XTX": "RX 7900 XTX", "NVIDIA H100 PCIe": "H100 PCIe"} {
		k, ok := Lookup(in)
		if !ok || k.Name != want {
			t.Errorf("Lookup(%q) = %q %v, want %q", in, k.Name, ok, want)
		}
	}
	if _, ok := Lookup("Voodoo 3"); ok {
		t.Error("unknown GPU matched")
	}
}

func TestParsers(t *testing.T) {
	g := ParseNvidiaSMI("0, NVIDIA GeForce RTX 4080, 16376, 15800\n1, NVIDIA GeForce RTX 3090, 24576, 24000\ngarbage\n")
	if len(g) != 2 || g[0].VRAMBytes != 16376<<20 || g[1].Name != "NVIDIA GeForce RTX 3090" {
		t.Fatalf("%+v", g)
	}
	r := ParseROCmSMI([]byte(`{"card0":{"Card Series":"Radeon RX 7900 XTX","VRAM Total Memory (B)":"25753026560","VRAM Total Used Memory (B)":"753026560"}}`))
	if len(r) != 1 || r[0].FreeBytes != 25e9 {
		t.Fatalf("%+v", r)
	}
	tot, av := ParseMeminfo("MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   20000000 kB\n")
	if tot != 24576000<<10 || av != 20000000<<10 {
		t.Fatal(tot, av)
	}
}

func TestResolve(t *testing.T) {
	h, err := Detect(context.Background())
	if err != nil || h.CPUThreads < 1 || h.RAMTotalBytes == 0 {
		t.Fatalf("detect: %+v %v", h, err)
	}
	tg, notes := Resolve(Hardware{RAMAvailBytes: 1 << 34}, Override{})
	if len(tg.GPUs) != 0 || len(notes) < 2 {
		t.Fatalf("no gpu: %+v %v", tg, notes)
	}
	tg, _ = Resolve(Hardware{}, Override{GPU: "4090,3090"})
	if len(tg.GPUs) != 2 || tg.GPUs[0].BandwidthGBs != 1008 || tg.GPUs[1].VRAMBytes != 24<<30 {
		t.Fatalf("list: %+v", tg.GPUs)
	}
	tg, _ = Resolve(Hardware{}, Override{GPU: "RTX 4080", GPUs: 2, VRAMGB: 12})
	if len(tg.GPUs) != 2 || tg.GPUs[1].VRAMBytes != 12<<30 {
		t.Fatalf("count/vram: %+v", tg.GPUs)
	}
	tg, _ = Resolve(Hardware{GPUs: []GPU{{Name: "NVIDIA GeForce RTX 4080", VRAMBytes: 16 << 30}}}, Override{CPUOnly: true})
	if len(tg.GPUs) != 0 {
		t.Fatal("cpu-only kept a GPU")
	}
}

func TestParsePhysicalCores(t *testing.T) {
	// Two hyperthreads of one core, plus a second core: 2 physical cores.
	cpuinfo := "processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 1\nphysical id\t: 0\ncore id\t\t: 0\n\n" +
		"processor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\n\n"
	if got := ParsePhysicalCores(cpuinfo); got != 2 {
		t.Fatalf("ParsePhysicalCores = %d, want 2", got)
	}
	if got := ParsePhysicalCores("processor\t: 0\nmodel name\t: x\n"); got != 0 {
		t.Fatalf("no core ids: got %d, want 0", got)
	}
}
