package hardware

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

// TestMatchNames: names as people type them and as nvidia-smi / rocm-smi
// print them (the driver strings are copied from public issue threads and
// NVIDIA's product names). want is the display name, or "!kind" for an error.
func TestMatchNames(t *testing.T) {
	cases := []struct {
		in   string
		mem  float64 // GiB from --vram or detection; 0 = none
		want string
	}{
		// nvidia-smi --query-gpu=name (driver spelling)
		{"NVIDIA GeForce RTX 4090", 0, "RTX 4090"},
		{"NVIDIA GeForce RTX 4090 D", 0, "RTX 4090 D"},
		{"NVIDIA GeForce RTX 4080", 0, "RTX 4080"},
		{"NVIDIA GeForce RTX 4080 SUPER", 0, "RTX 4080 Super"},
		{"NVIDIA GeForce RTX 4070 Ti SUPER", 0, "RTX 4070 Ti Super"},
		{"NVIDIA GeForce RTX 4070 Ti", 0, "RTX 4070 Ti"},
		{"NVIDIA GeForce RTX 4070 SUPER", 0, "RTX 4070 Super"},
		{"NVIDIA GeForce RTX 4060 Ti", 15.99, "RTX 4060 Ti 16GB"},
		{"NVIDIA GeForce RTX 4060 Ti", 7.99, "RTX 4060 Ti 8GB"},
		{"NVIDIA GeForce RTX 4060", 0, "RTX 4060"},
		{"NVIDIA GeForce RTX 3090 Ti", 0, "RTX 3090 Ti"},
		{"NVIDIA GeForce RTX 3090", 24, "RTX 3090"},
		{"NVIDIA GeForce RTX 3080 Ti", 12, "RTX 3080 Ti"},
		{"NVIDIA GeForce RTX 3080", 10, "RTX 3080 10GB"},
		{"NVIDIA GeForce RTX 3080", 12, "RTX 3080 12GB"},
		{"NVIDIA GeForce RTX 3070 Ti", 0, "RTX 3070 Ti"},
		{"NVIDIA GeForce RTX 3060 Ti", 0, "RTX 3060 Ti"},
		{"NVIDIA GeForce RTX 3060", 12, "RTX 3060 12GB"},
		{"NVIDIA GeForce RTX 3060 Laptop GPU", 6, "RTX 3060 Laptop"},
		{"NVIDIA GeForce RTX 3080 Ti Laptop GPU", 16, "RTX 3080 Ti Laptop"},
		{"NVIDIA GeForce RTX 3050 Ti Laptop GPU", 0, "RTX 3050 Ti Laptop"},
		{"NVIDIA GeForce RTX 4090 Laptop GPU", 16, "RTX 4090 Laptop"},
		{"NVIDIA GeForce RTX 4060 Laptop GPU", 0, "RTX 4060 Laptop"},
		{"NVIDIA GeForce RTX 2060 with Max-Q Design", 0, "RTX 2060 Laptop"},
		{"NVIDIA GeForce RTX 2080 Ti", 11, "RTX 2080 Ti"},
		{"NVIDIA GeForce RTX 2080 SUPER", 0, "RTX 2080 Super"},
		{"NVIDIA GeForce RTX 2070", 0, "RTX 2070"},
		{"NVIDIA TITAN RTX", 0, "Titan RTX"},
		{"NVIDIA GeForce RTX 5090", 32, "RTX 5090"},
		{"NVIDIA GeForce RTX 5080", 0, "RTX 5080"},
		{"NVIDIA GeForce RTX 5070 Ti", 0, "RTX 5070 Ti"},
		{"NVIDIA GeForce RTX 5060 Ti", 16, "RTX 5060 Ti 16GB"},
		{"NVIDIA GeForce RTX 5090 Laptop GPU", 0, "RTX 5090 Laptop"},
		{"NVIDIA RTX A6000", 48, "RTX A6000"},
		{"NVIDIA RTX A5000", 0, "RTX A5000"},
		{"NVIDIA RTX A4500", 0, "RTX A4500"},
		{"NVIDIA RTX A4000", 0, "RTX A4000"},
		{"NVIDIA RTX A2000 12GB", 0, "RTX A2000 12GB"},
		{"NVIDIA RTX A2000", 6, "RTX A2000 6GB"},
		{"NVIDIA RTX 6000 Ada Generation", 48, "RTX 6000 Ada"},
		{"NVIDIA RTX 5000 Ada Generation", 0, "RTX 5000 Ada"},
		{"NVIDIA RTX 4000 Ada Generation", 0, "RTX 4000 Ada"},
		{"NVIDIA RTX 4000 SFF Ada Generation", 0, "RTX 4000 SFF Ada"},
		{"NVIDIA RTX 2000 Ada Generation", 0, "RTX 2000 Ada"},
		{"NVIDIA RTX PRO 6000 Blackwell Workstation Edition", 95.6, "RTX PRO 6000 Blackwell"},
		{"NVIDIA RTX PRO 6000 Blackwell Server Edition", 0, "RTX PRO 6000 Blackwell"},
		{"NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", 0, "RTX PRO 6000 Blackwell Max-Q"},
		{"Tesla T4", 15, "T4"},
		{"NVIDIA T4", 0, "T4"},
		{"Tesla V100-SXM2-16GB", 0, "V100 SXM2 16GB"},
		{"Tesla V100-PCIE-32GB", 0, "V100 PCIe 32GB"},
		{"NVIDIA L4", 22.5, "L4"},
		{"NVIDIA L40", 0, "L40"},
		{"NVIDIA L40S", 45, "L40S"},
		{"NVIDIA A10", 0, "A10"},
		{"NVIDIA A30", 0, "A30"},
		{"NVIDIA A40", 0, "A40"},
		{"NVIDIA A100-SXM4-80GB", 80, "A100 SXM 80GB"},
		{"NVIDIA A100-SXM4-40GB", 40, "A100 SXM 40GB"},
		{"NVIDIA A100-PCIE-40GB", 40, "A100 PCIe 40GB"},
		{"NVIDIA A100 80GB PCIe", 80, "A100 PCIe 80GB"},
		{"NVIDIA H100 80GB HBM3", 79.6, "H100 SXM"},
		{"NVIDIA H100 PCIe", 79.6, "H100 PCIe"},
		{"NVIDIA H100 NVL", 93.6, "H100 NVL"},
		{"NVIDIA H200", 140.4, "H200 SXM"},
		{"NVIDIA H200 NVL", 0, "H200 NVL"},
		{"NVIDIA B200", 179, "B200"},
		{"NVIDIA GB200", 0, "GB200"},
		// rocm-smi --showproductname (Card Series), including the shared-chip form
		{"Navi 31 [Radeon RX 7900 XT/7900 XTX]", 23.98, "RX 7900 XTX"},
		{"Navi 31 [Radeon RX 7900 XT/7900 XTX]", 19.98, "RX 7900 XT"},
		{"Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]", 15.98, "!ambiguous"},
		{"Arcturus GL-XL [AMD Instinct MI100]", 0, "MI100"},
		{"AMD Instinct MI300X", 191.5, "MI300X"},
		{"AMD Instinct MI325X", 0, "MI325X"},
		{"AMD Instinct MI210", 0, "MI210"},
		{"Aldebaran/MI200 [Instinct MI250X/MI250]", 0, "!ambiguous"},
		{"AMD Radeon RX 7900 XTX", 0, "RX 7900 XTX"},
		{"AMD Radeon PRO W7900", 0, "Radeon PRO W7900"},
		{"AMD Radeon RX 6700 XT", 0, "RX 6700 XT"},
		{"AMD Radeon RX 9070 XT", 0, "RX 9070 XT"},
		{"Intel(R) Arc(TM) A770 Graphics", 15.9, "Arc A770 16GB"},
		{"Intel(R) Arc(TM) B580 Graphics", 0, "Arc B580"},
		// as people type them
		{"4090", 0, "RTX 4090"},
		{"rtx4090", 0, "RTX 4090"},
		{"RTX 4080", 0, "RTX 4080"},
		{"4080 super", 0, "RTX 4080 Super"},
		{"4070ti", 0, "RTX 4070 Ti"},
		{"4070 ti super", 0, "RTX 4070 Ti Super"},
		{"RTX 4060 Ti 8GB", 0, "RTX 4060 Ti 8GB"},
		{"rtx 4060ti 16gb", 0, "RTX 4060 Ti 16GB"},
		{"RTX 4060 Ti", 16, "RTX 4060 Ti 16GB"},
		{"RTX 3080 Ti", 0, "RTX 3080 Ti"},
		{"3080 12GB", 0, "RTX 3080 12GB"},
		{"3060 Laptop", 0, "RTX 3060 Laptop"},
		{"3060 8GB", 0, "RTX 3060 8GB"},
		{"4090 mobile", 0, "RTX 4090 Laptop"},
		{"2060 super", 0, "RTX 2060 Super"},
		{"5070 Ti Laptop", 0, "RTX 5070 Ti Laptop"},
		{"A6000", 0, "RTX A6000"},
		{"RTX 6000 Ada", 0, "RTX 6000 Ada"},
		{"RTX PRO 6000", 0, "RTX PRO 6000 Blackwell"},
		{"A100 80GB PCIe", 0, "A100 PCIe 80GB"},
		{"a100 sxm 40gb", 0, "A100 SXM 40GB"},
		{"H100 SXM", 0, "H100 SXM"},
		{"h100 nvl", 0, "H100 NVL"},
		{"H200", 0, "H200 SXM"},
		{"l40s", 0, "L40S"},
		{"T4", 0, "T4"},
		{"MI250X", 0, "MI250X"},
		{"mi300x", 0, "MI300X"},
		{"RX 9070", 0, "RX 9070"},
		{"7800 XT", 0, "RX 7800 XT"},
		{"7900 GRE", 0, "RX 7900 GRE"},
		{"W7900", 0, "Radeon PRO W7900"},
		{"Arc A770 8GB", 0, "Arc A770 8GB"},
		{"A380", 0, "Arc A380"},
		{"Apple M1", 16, "Apple M1 16GB"},
		{"M1 Pro 32GB", 0, "Apple M1 Pro 32GB"},
		{"M1 Max 64GB", 0, "Apple M1 Max 64GB"},
		{"M1 Ultra 128GB", 0, "Apple M1 Ultra 128GB"},
		{"M2 24GB", 0, "Apple M2 24GB"},
		{"Apple M2 Max", 96, "Apple M2 Max 96GB"},
		{"M2 Ultra 192GB", 0, "Apple M2 Ultra 192GB"},
		{"M3 Pro 18GB", 0, "Apple M3 Pro 18GB"},
		{"Apple M3 Max (40-core GPU) 64GB", 0, "Apple M3 Max 64GB"},
		{"M3 Max 36GB", 0, "Apple M3 Max 36GB"},
		{"M3 Ultra 512GB", 0, "Apple M3 Ultra 512GB"},
		{"M4 32GB", 0, "Apple M4 32GB"},
		{"M4 Pro 48GB", 0, "Apple M4 Pro 48GB"},
		{"Apple M4 Max", 128, "Apple M4 Max 128GB"},
		{"M5 24GB", 0, "Apple M5 24GB"},
		// needs the memory, ambiguous, unknown
		{"RTX 3080", 0, "!needs_memory"},
		{"RTX 4060 Ti", 0, "!needs_memory"},
		{"3060", 0, "!needs_memory"},
		{"Arc A770", 0, "!needs_memory"},
		{"Apple M3 Max", 0, "!needs_memory"},
		{"M2 Ultra", 0, "!needs_memory"},
		{"H100", 0, "!ambiguous"},
		{"H100", 80, "!ambiguous"},
		{"A100", 0, "!ambiguous"},
		{"A100 80GB", 0, "!ambiguous"},
		{"RTX 9999", 0, "!unknown"},
		{"Voodoo 3", 0, "!unknown"},
		{"M4 Ultra", 0, "!unknown"},
		{"RTX 6000", 0, "!unknown"},
		{"GTX 1080 Ti", 0, "!unknown"},
		{"4070 S", 0, "!unknown"},
		{"AMD INSTINCT MI200 (MCM) OAM LC MBA HPE C2", 0, "!unknown"},
		{"", 0, "!unknown"},
		{strings.Repeat("RTX 4090 ", 1000), 0, "!unknown"},
	}
	if len(cases) < 100 {
		t.Fatalf("only %d names", len(cases))
	}
	for _, c := range cases {
		k, err := Match(c.in, c.mem)
		if strings.HasPrefix(c.want, "!") {
			var me *MatchError
			if !errors.As(err, &me) || me.Kind != c.want[1:] {
				t.Errorf("Match(%q, %g) = %q, %v; want a %s error", c.in, c.mem, k.Name, err, c.want[1:])
			}
			continue
		}
		if err != nil || k.Name != c.want {
			t.Errorf("Match(%q, %g) = %q, %v; want %q", c.in, c.mem, k.Name, err, c.want)
		}
	}
}

// TestMatchFigures pins the figures of the names the issue found wrong.
func TestMatchFigures(t *testing.T) {
	for _, c := range []struct {
		in       string
		vram, bw float64
	}{
		{"RTX 3080 Ti", 12, 912},            // was taken for a 10 GiB RTX 3080
		{"RTX 4060 Ti 8GB", 8, 288},         // was 16 GiB
		{"3060 Laptop", 6, 336},             // was 12 GiB
		{"NVIDIA H100 80GB HBM3", 80, 3350}, // fell back to 300 GB/s
		{"H200", 141, 4800},
		{"L40", 48, 864},
		{"T4", 16, 320},
		{"MI300X", 192, 5300},
		{"M3 Max 64GB", 64, 400},
		{"M3 Max 36GB", 36, 300}, // the 30-core GPU's narrower bus
	} {
		k, err := Match(c.in, 0)
		if err != nil || k.VRAMGiB != c.vram || k.BandwidthGBs != c.bw {
			t.Errorf("%q: %+v %v; want %g GiB, %g GB/s", c.in, k, err, c.vram, c.bw)
		}
	}
}

func TestMatchErrorsGuide(t *testing.T) {
	_, err := Match("RTX 9999", 0)
	var me *MatchError
	if !errors.As(err, &me) || !strings.Contains(me.CLIHint(), "--vram") || strings.Contains(me.ErrorHint(), "--") {
		t.Fatalf("unknown: %v / %q / %q", err, me.CLIHint(), me.ErrorHint())
	}
	_, err = Match("H100", 0)
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "H100 SXM") || !strings.Contains(err.Error(), "H100 PCIe") {
		t.Fatalf("ambiguous: %v", err)
	}
	_, err = Match("M4 Ultra", 0)
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "Apple M4 Max") {
		t.Fatalf("near matches: %v", err)
	}
	_, err = Match("RTX 6000", 0)
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "RTX 6000 Ada") {
		t.Fatalf("near matches: %v", err)
	}
}

func TestTableWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Table() {
		if k.VRAMGiB <= 0 || k.BandwidthGBs <= 0 || k.FP16TFLOPS <= 0 || k.Source == "" {
			t.Errorf("incomplete row %+v", k)
		}
		if seen[k.Name] {
			t.Errorf("two rows display as %q", k.Name)
		}
		seen[k.Name] = true
		// Every row must be reachable by its own display name.
		if got, err := Match(k.Name, k.VRAMGiB); err != nil || got.Name != k.Name {
			t.Errorf("Match(own name %q) = %q, %v", k.Name, got.Name, err)
		}
	}
}

func TestParsers(t *testing.T) {
	g := ParseNvidiaSMI("0, NVIDIA GeForce RTX 4080, 16376, 15800\n1, NVIDIA GeForce RTX 3090, 24576, 24000\ngarbage\n2, NVIDIA GB10, [N/A], [N/A]\n")
	if len(g) != 3 || g[0].VRAMBytes != 16376<<20 || g[1].Name != "NVIDIA GeForce RTX 3090" || g[2].VRAMBytes != 0 {
		t.Fatalf("%+v", g)
	}
	r := ParseROCmSMI([]byte(`{"card0":{"Card Series":"Radeon RX 7900 XTX","VRAM Total Memory (B)":"25753026560","VRAM Total Used Memory (B)":"753026560"}}`))
	if len(r) != 1 || r[0].FreeBytes != 25e9 {
		t.Fatalf("%+v", r)
	}
	// rocm-smi that prints only the PCI id (as in public reports for a 7900 XTX)
	r = ParseROCmSMI([]byte(`{"card0":{"Card series":"0x744c","Card model":"0x2422","Card SKU":"EXT84765","VRAM Total Memory (B)":"25753026560","VRAM Total Used Memory (B)":"0"}}`))
	if len(r) != 1 {
		t.Fatalf("%+v", r)
	}
	if k, err := Match(r[0].Name, float64(r[0].VRAMBytes)/(1<<30)); err != nil || k.Name != "RX 7900 XTX" {
		t.Fatalf("0x744c with 24 GB: %q %v", k.Name, err)
	}
	tot, av := ParseMeminfo("MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   20000000 kB\n")
	if tot != 24576000<<10 || av != 20000000<<10 {
		t.Fatal(tot, av)
	}
	vm := "Mach Virtual Memory Statistics: (page size of 16384 bytes)\nPages free:                               10000.\nPages active:                            500000.\nPages inactive:                          20000.\nPages speculative:                        3000.\nPages wired down:                        100000.\nPages purgeable:                           700.\n"
	if got := ParseVMStat(vm); got != (10000+20000+3000+700)*16384 {
		t.Fatalf("vm_stat: %d", got)
	}
}

func TestDetect(t *testing.T) {
	h, err := Detect(context.Background())
	if err != nil || h.CPUThreads < 1 {
		t.Fatalf("detect: %+v %v", h, err)
	}
	if runtime.GOOS == "linux" && h.RAMTotalBytes == 0 {
		t.Fatalf("no RAM on linux: %+v", h)
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

// FuzzMatch: any text is an answer or a MatchError, never a panic or a GPU
// without memory.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "[", "][", "[]", "/", "0x", "16 gb", "RTX 4090 ///", "Navi [a/b/c]", "M3 Max 0GB", "ä 4090 ™", "4060ti.16gb"} {
		f.Add(s, 0.0)
	}
	f.Add("RTX 3080", math.NaN())
	f.Add("RTX 3080", math.Inf(1))
	f.Fuzz(func(t *testing.T, s string, mem float64) {
		k, err := Match(s, mem)
		if err == nil && (k.VRAMGiB <= 0 || k.BandwidthGBs <= 0) {
			t.Fatalf("Match(%q, %g) = %+v", s, mem, k)
		}
	})
}
