package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

const smallRepo = "testorg/Small-GGUF"

// smallRepoFixture serves testorg/Small-GGUF: F16 and Q8_0 as single files,
// Q4_0 split into two shards. It returns the on-disk paths by quant.
func smallRepoFixture(t *testing.T, opts localhub.Options) (*fixture, map[string][]string) {
	f := newFixture(t, opts)
	files := map[string][]string{
		"F16":  f.model(smallRepo, "Small-F16", withType(small, gguf.TypeF16)),
		"Q8_0": f.model(smallRepo, "Small-Q8_0", withType(small, gguf.TypeQ8_0)),
	}
	sharded := withType(small, gguf.TypeQ4_0)
	sharded.Shards = 2
	files["Q4_0"] = f.model(smallRepo, "Small-Q4_0", sharded)
	return f, files
}

func TestVersionAndHelp(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	r := f.ok("", "version")
	if !strings.HasPrefix(r.stdout, "fitbench ") {
		t.Errorf("version: %q", r.stdout)
	}
	r = f.ok("", "help")
	for _, c := range []string{"analyze", "install", "list", "show", "rm", "add-local", "hw", "bench", "serve"} {
		if !strings.Contains(r.stdout, "  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, r.stdout)
		}
	}
	r = f.ok("", "help", "analyze")
	for _, flag := range []string{"--quant", "--gpu", "--cpu-only", "--json", "--list"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("help analyze lacks %s:\n%s", flag, r.stdout)
		}
	}
	// Every command's help lists its own flags, from its flag set.
	for cmd, flags := range map[string][]string{
		"install": {"-verify", "-allow-errors", "-engine", "-base-url", "-model", "-no-bench", "-home"},
		"bench":   {"-ctx", "-cache-type", "-allow-errors", "-base-url", "-samples", "-json"},
		"serve":   {"-addr", "-engine", "-base-url", "-model", "-token"},
		"show":    {"-json", "-home"}, "list": {"-json", "-home"}, "rm": {"-home"}, "add-local": {"-id", "-home"},
		"hw": {"-gpu", "-vram"},
	} {
		r := f.ok("", "help", cmd)
		for _, fl := range flags {
			if !strings.Contains(r.stdout, "  "+fl+" ") && !strings.Contains(r.stdout, "  "+fl+"\n") {
				t.Errorf("help %s lacks %s:\n%s", cmd, fl, r.stdout)
			}
		}
	}
	if r := f.run("", "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %s", r)
	}
}

func TestAnalyzeListJSON(t *testing.T) {
	f, files := smallRepoFixture(t, localhub.Options{PageSize: 2}) // paging exercised
	var l struct {
		Repo     string `json:"repo"`
		Commit   string `json:"commit"`
		Variants []struct {
			Quant     string `json:"quant"`
			SizeBytes int64  `json:"size_bytes"`
			Files     []struct {
				Path      string `json:"path"`
				SizeBytes int64  `json:"size_bytes"`
				SHA256    string `json:"sha256"`
			} `json:"files"`
		} `json:"variants"`
	}
	f.jsonOK(&l, "analyze", smallRepo, "--list", "--json")
	if l.Repo != smallRepo || len(l.Commit) < 7 {
		t.Fatalf("repo/commit: %+v", l)
	}
	if len(l.Variants) != 3 {
		t.Fatalf("want 3 variants (shards grouped), got %+v", l.Variants)
	}
	for _, v := range l.Variants {
		paths, ok := files[v.Quant]
		if !ok {
			t.Errorf("unexpected variant %q", v.Quant)
			continue
		}
		if len(v.Files) != len(paths) {
			t.Errorf("%s: %d files, want %d", v.Quant, len(v.Files), len(paths))
			continue
		}
		var total int64
		for i, fl := range v.Files {
			st, err := os.Stat(paths[i])
			if err != nil {
				t.Fatal(err)
			}
			if fl.Path != filepath.Base(paths[i]) || fl.SizeBytes != st.Size() {
				t.Errorf("%s file %d: %+v, want %s %d bytes", v.Quant, i, fl, filepath.Base(paths[i]), st.Size())
			}
			if want := fileSHA256(t, paths[i]); fl.SHA256 != want {
				t.Errorf("%s: sha256 %s, want %s", fl.Path, fl.SHA256, want)
			}
			total += st.Size()
		}
		if v.SizeBytes != total {
			t.Errorf("%s: size_bytes %d, want %d", v.Quant, v.SizeBytes, total)
		}
	}
	// The human listing names every file too.
	r := f.ok("", "analyze", smallRepo, "--list")
	for _, paths := range files {
		for _, p := range paths {
			if !strings.Contains(r.stdout, filepath.Base(p)) {
				t.Errorf("human --list lacks %s:\n%s", filepath.Base(p), r.stdout)
			}
		}
	}
	if !strings.Contains(r.stdout, "2 shards") {
		t.Errorf("human --list does not group shards:\n%s", r.stdout)
	}
}

// analysis is the subset of analyze --json the tests read.
type analysis struct {
	Success            bool    `json:"success"`
	ModelID            string  `json:"model_id"`
	InstallID          string  `json:"install_id"`
	ModelName          string  `json:"model_name"`
	Quantization       string  `json:"quantization"`
	WillFit            *bool   `json:"will_fit"`
	FitsWithoutOffload *bool   `json:"fits_without_offload"`
	Source             string  `json:"source"`
	Verdict            string  `json:"verdict"`
	GPULayers          int     `json:"gpu_layers"`
	TotalLayers        int     `json:"total_layers"`
	SizeBytes          int64   `json:"size_bytes"`
	Memory             memory  `json:"memory"`
	Performance        perf    `json:"performance"`
	Comparison         compare `json:"comparison"`
	Variants           []struct {
		Quant       string `json:"quant"`
		Basis       string `json:"basis"`
		Selected    bool   `json:"selected"`
		Recommended string `json:"recommended"`
		Verdict     string `json:"verdict"`
	} `json:"variants"`
	Recommendation map[string]any `json:"recommendation"`
	Hardware       struct {
		Label  string `json:"label"`
		Target struct {
			GPUs []struct {
				Name      string `json:"name"`
				VRAMBytes uint64 `json:"vram_bytes"`
			} `json:"gpus"`
		} `json:"target"`
	} `json:"hardware"`
	Warnings []string `json:"warnings"`
}

type memory struct {
	TotalGB      *float64 `json:"total_gb"`
	ModelGB      *float64 `json:"model_gb"`
	KVCacheGB    *float64 `json:"kv_cache_gb"`
	OverheadGB   *float64 `json:"overhead_gb"`
	AvailableGB  *float64 `json:"available_gb"`
	CPUOffloadGB *float64 `json:"cpu_offload_gb"`
	Devices      []device `json:"devices"`
}

type device struct {
	Name          string `json:"name"`
	TotalBytes    uint64 `json:"total_bytes"`
	CapacityBytes uint64 `json:"capacity_bytes"`
	Layers        int    `json:"layers"`
}

type perf struct {
	EstimatedThroughput *float64 `json:"estimated_throughput"`
	QualityStars        *int     `json:"quality_stars"`
	OffloadPenalty      *float64 `json:"offload_penalty"`
}

type compare struct {
	TotalModels *int             `json:"total_models"`
	Comparisons []map[string]any `json:"comparisons"`
}

// checkShape asserts every key of the original design is present.
func checkShape(t *testing.T, raw string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"success", "model_id", "model_name", "quantization", "will_fit", "fits_without_offload",
		"memory", "performance", "comparison", "variants", "recommendation", "source", "gpu_layers", "total_layers"} {
		if _, ok := m[k]; !ok {
			t.Errorf("analyze --json lacks %q", k)
		}
	}
	sub := func(key string, keys ...string) {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(m[key], &o); err != nil {
			t.Errorf("%s: %v", key, err)
			return
		}
		for _, k := range keys {
			if _, ok := o[k]; !ok {
				t.Errorf("analyze --json %s lacks %q", key, k)
			}
		}
	}
	sub("memory", "total_gb", "model_gb", "kv_cache_gb", "overhead_gb", "available_gb", "cpu_offload_gb")
	sub("performance", "estimated_throughput", "quality_stars", "offload_penalty")
	sub("comparison", "total_models", "comparisons")
}

func TestAnalyzeJSONAndHuman(t *testing.T) {
	f, files := smallRepoFixture(t, localhub.Options{})
	r := f.ok("", "analyze", smallRepo+":Q8_0", "--json", "--gpu", "RTX 4080")
	checkShape(t, r.stdout)
	var a analysis
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(files["Q8_0"][0])
	if !a.Success || a.ModelID != smallRepo || a.InstallID != smallRepo+":Q8_0" || a.Quantization != "Q8_0" ||
		a.Source != "header" || a.SizeBytes != st.Size() {
		t.Errorf("analysis: %+v", a)
	}
	if !*a.WillFit || !*a.FitsWithoutOffload || *a.Memory.CPUOffloadGB != 0 || a.GPULayers != a.TotalLayers ||
		a.TotalLayers < small.Layers {
		t.Errorf("a tiny model must fit an RTX 4080 fully: %+v", a)
	}
	// GB figures are rounded to 0.01, so a 3 MB model's weights show as 0.
	if *a.Memory.TotalGB <= 0 || *a.Memory.ModelGB < 0 || *a.Memory.KVCacheGB < 0 || *a.Memory.AvailableGB < 15 ||
		len(a.Memory.Devices) == 0 || a.Memory.Devices[0].Name != "GPU0" || a.Memory.Devices[0].TotalBytes <= uint64(st.Size()) ||
		*a.Performance.EstimatedThroughput <= 0 || *a.Performance.QualityStars < 1 || *a.Performance.QualityStars > 5 {
		t.Errorf("figures: %+v %+v", a.Memory, a.Performance)
	}
	if len(a.Variants) != 3 {
		t.Fatalf("variants: %+v", a.Variants)
	}
	recommended := 0
	for _, v := range a.Variants {
		wantBasis := "scaled"
		if v.Quant == "Q8_0" {
			wantBasis = "header"
			if !v.Selected {
				t.Errorf("Q8_0 not marked selected")
			}
		}
		if v.Basis != wantBasis {
			t.Errorf("%s basis %q, want %q", v.Quant, v.Basis, wantBasis)
		}
		if v.Recommended != "" {
			recommended++
		}
	}
	if recommended == 0 || a.Recommendation["best_full"] == nil {
		t.Errorf("no variant recommended: %+v %+v", a.Variants, a.Recommendation)
	}
	if !strings.Contains(a.Hardware.Label, "RTX 4080") {
		t.Errorf("hardware label %q", a.Hardware.Label)
	}

	// Human output: the verdict, sizes, speed, stars and the variants table.
	r = f.ok("", "analyze", smallRepo+":Q8_0", "--gpu", "RTX 4080")
	for _, want := range []string{"✅ Fits on", "RTX 4080", "Memory", "Speed", "tok/s", "Quality", "★", "Variants:", "Q4_0", "F16", "(this one)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("human report lacks %q:\n%s", want, r.stdout)
		}
	}
	// --quant picks the variant; default is Q8_0 (no Q4_K_M here).
	var d analysis
	f.jsonOK(&d, "analyze", smallRepo, "--json", "--cpu-only")
	if d.Quantization != "Q8_0" {
		t.Errorf("default variant %q, want Q8_0", d.Quantization)
	}
	if len(d.Hardware.Target.GPUs) != 0 || d.Hardware.Label != "CPU only" {
		t.Errorf("--cpu-only target: %+v", d.Hardware)
	}
	var q analysis
	f.jsonOK(&q, "analyze", smallRepo, "--quant", "Q4_0", "--json", "--cpu-only")
	if q.Quantization != "Q4_0" || q.InstallID != smallRepo+":Q4_0" {
		t.Errorf("--quant Q4_0: %+v", q)
	}
}

// TestAnalyze70BOffload: a 70B Q4_0 (header only, sparse) cannot fit a 16 GB
// card: the verdict is CPU offload with part of the layers on the GPU; two
// 24 GB cards hold more layers than one 16 GB card.
func TestAnalyze70BOffload(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	path := big70B(t)
	var one analysis
	r := f.jsonOK(&one, "analyze", path, "--gpu", "RTX 4080", "--json")
	checkShape(t, r.stdout)
	// Whether the CPU share fits depends on this machine's RAM: the verdict
	// must agree with the CPU device's need and capacity.
	var cpuDev *device
	for i := range one.Memory.Devices {
		if one.Memory.Devices[i].Name == "CPU" {
			cpuDev = &one.Memory.Devices[i]
		}
	}
	if cpuDev == nil || cpuDev.CapacityBytes == 0 {
		t.Fatalf("no CPU device: %+v", one.Memory.Devices)
	}
	wantFit := cpuDev.TotalBytes <= cpuDev.CapacityBytes
	wantVerdict := map[bool]string{true: "fits_with_offload", false: "does_not_fit"}[wantFit]
	if one.Verdict != wantVerdict || *one.WillFit != wantFit || *one.FitsWithoutOffload || *one.Memory.CPUOffloadGB <= 0 {
		t.Errorf("70B on an RTX 4080 must need CPU offload: verdict %q (want %q) will_fit %v fits_without_offload %v offload %v",
			one.Verdict, wantVerdict, *one.WillFit, *one.FitsWithoutOffload, *one.Memory.CPUOffloadGB)
	}
	if one.TotalLayers < 80 || one.GPULayers <= 0 || one.GPULayers >= one.TotalLayers {
		t.Errorf("gpu_layers %d of %d", one.GPULayers, one.TotalLayers)
	}
	if *one.Performance.OffloadPenalty <= 0 {
		t.Errorf("offload penalty %v", *one.Performance.OffloadPenalty)
	}
	if one.Quantization != "Q4_0" || one.Source != "header" {
		t.Errorf("quant %q source %q", one.Quantization, one.Source)
	}
	h := f.ok("", "analyze", path, "--gpu", "RTX 4080")
	if !strings.Contains(h.stdout, "CPU offload") || !strings.Contains(h.stdout, "layers on the CPU") {
		t.Errorf("human offload verdict:\n%s", h.stdout)
	}
	// Two RTX 4080s leave about half the layers for the CPU: an offload
	// verdict on any machine with ~16 GB of free RAM.
	var pair analysis
	f.jsonOK(&pair, "analyze", path, "--gpu", "RTX 4080", "--gpus", "2", "--json")
	if pair.GPULayers <= one.GPULayers || pair.GPULayers >= pair.TotalLayers || *pair.FitsWithoutOffload {
		t.Errorf("2× RTX 4080: gpu_layers %d of %d (one card: %d)", pair.GPULayers, pair.TotalLayers, one.GPULayers)
	}
	if pair.Verdict == "fits_with_offload" {
		h = f.ok("", "analyze", path, "--gpu", "RTX 4080", "--gpus", "2")
		if !strings.Contains(h.stdout, "Fits on") || !strings.Contains(h.stdout, "with CPU offload") {
			t.Errorf("human offload verdict:\n%s", h.stdout)
		}
	}

	var two analysis
	f.jsonOK(&two, "analyze", path, "--gpu", "4090,3090", "--json")
	if len(two.Hardware.Target.GPUs) != 2 {
		t.Fatalf("multi-GPU target: %+v", two.Hardware)
	}
	gpuDevices := 0
	for _, d := range two.Memory.Devices {
		if strings.HasPrefix(d.Name, "GPU") && d.TotalBytes > 0 && d.Layers > 0 {
			gpuDevices++
		}
	}
	if gpuDevices != 2 {
		t.Errorf("two GPUs must each hold layers: %+v", two.Memory.Devices)
	}
	if two.GPULayers <= one.GPULayers {
		t.Errorf("48 GB across two cards holds %d layers, one 16 GB card %d", two.GPULayers, one.GPULayers)
	}
	if *two.Memory.AvailableGB <= *one.Memory.AvailableGB {
		t.Errorf("available %v vs %v", *two.Memory.AvailableGB, *one.Memory.AvailableGB)
	}

	var cpu analysis
	f.jsonOK(&cpu, "analyze", path, "--cpu-only", "--json")
	if len(cpu.Hardware.Target.GPUs) != 0 || cpu.GPULayers != 0 {
		t.Errorf("--cpu-only: %d GPU layers, target %+v", cpu.GPULayers, cpu.Hardware.Target)
	}
}

// big70B writes Llama-3-70B's shapes as a header-only Q4_0 model: a sparse
// file of the full size that takes no disk space.
func big70B(t *testing.T) string {
	t.Helper()
	spec := synth.Llama70B
	spec.HeaderOnly = true
	paths, err := synth.Write(t.TempDir(), "Llama-70B-Q4_0", spec)
	if err != nil {
		t.Fatal(err)
	}
	return paths[0]
}

func TestAnalyzeLocalFile(t *testing.T) {
	f, files := smallRepoFixture(t, localhub.Options{})
	var a analysis
	r := f.jsonOK(&a, "analyze", files["F16"][0], "--json", "--cpu-only")
	checkShape(t, r.stdout)
	if a.ModelID != "local/Small-F16.gguf" || a.Quantization != "F16" || a.Source != "header" || !a.Success {
		t.Errorf("local analysis: %+v", a)
	}
	// The first shard of a split model brings its siblings.
	var s analysis
	f.jsonOK(&s, "analyze", files["Q4_0"][0], "--json", "--cpu-only")
	var total int64
	for _, p := range files["Q4_0"] {
		st, _ := os.Stat(p)
		total += st.Size()
	}
	if s.SizeBytes != total || s.Quantization != "Q4_0" {
		t.Errorf("split local: size %d want %d, quant %q", s.SizeBytes, total, s.Quantization)
	}
	if f.hub.Counts()[localhub.CountModelInfo] != 0 {
		t.Errorf("a local analysis contacted the Hub")
	}
}

// pageText is a copied model page (select-all, copy) naming the localhub repo.
const pageText = `Hugging Face
Models
Datasets
Spaces

testorg
/
Small-GGUF

like
12
Text Generation
GGUF
llama
conversational

Model card
Files and versions
Community

Llamacpp imatrix Quantizations of Small

Using llama.cpp release b4500 for quantization.

Original model: https://huggingface.co/testorg/Small

Download a file (not the whole branch) from below:

| Filename | Quant type | File Size | Split | Description |
| -------- | ---------- | --------- | ----- | ----------- |
| [Small-F16.gguf](https://huggingface.co/testorg/Small-GGUF/blob/main/Small-F16.gguf) | F16 | 4.01GB | false | Full F16 weights. |
| [Small-Q8_0.gguf](https://huggingface.co/testorg/Small-GGUF/blob/main/Small-Q8_0.gguf) | Q8_0 | 2.13GB | false | Extremely high quality, generally unneeded but max available quant. |
| [Small-Q4_0.gguf](https://huggingface.co/testorg/Small-GGUF/blob/main/Small-Q4_0.gguf) | Q4_0 | 1.13GB | false | Legacy format, offers online repacking for ARM and AVX CPU inference. |

Downloading using huggingface-cli

huggingface-cli download testorg/Small-GGUF --include "Small-Q8_0.gguf" --local-dir ./

Downloads last month
1,234
GGUF
Model size
2B params
Architecture
llama
Hardware compatibility
8-bit Q8_0 2.13 GB
4-bit Q4_0 1.13 GB

Model tree for testorg/Small-GGUF
Base model
testorg/Small
Quantized
(12)
this model
`

func TestAnalyzePastedPage(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	r := f.ok(pageText, "analyze", "-", "--json", "--cpu-only")
	var a analysis
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
		t.Fatal(err)
	}
	if a.ModelID != smallRepo || a.Source != "header" || !a.Success {
		t.Errorf("pasted page: %+v", a)
	}
	// Offline with the same page: the page's quant table gives a labelled
	// heuristic answer instead of an error.
	r = f.runEnv([]string{"HF_HUB_OFFLINE=1"}, pageText, "analyze", "-", "--json", "--cpu-only")
	if r.code != 0 {
		t.Fatalf("offline heuristic: %s", r)
	}
	var h analysis
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatal(err)
	}
	if h.Source != "heuristic" || !h.Success || h.ModelID != smallRepo || len(h.Variants) != 3 {
		t.Errorf("offline: %+v", h)
	}
	for _, v := range h.Variants {
		if v.Basis != "heuristic" {
			t.Errorf("offline variant %s basis %q", v.Quant, v.Basis)
		}
	}
	if len(h.Warnings) == 0 || !strings.Contains(h.Warnings[0], "heuristic") {
		t.Errorf("heuristic result not labelled: %v", h.Warnings)
	}
	r = f.runEnv([]string{"HF_HUB_OFFLINE=1"}, pageText, "analyze", "-", "--cpu-only")
	if r.code != 0 || !strings.Contains(r.stdout, "heuristic estimate") {
		t.Errorf("offline human output not labelled heuristic: %s", r)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	gated := f.model("testorg/Gated-GGUF", "Gated-Q8_0", withType(small, gguf.TypeQ8_0))
	if err := os.WriteFile(filepath.Join(filepath.Dir(gated[0]), ".gated"), []byte("auto"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, input, stdin string
		extra              []string
		want               string // in the error message
		hint               bool   // a hint is expected
	}{
		{name: "empty", input: "-", stdin: "  \n", want: "nothing was pasted", hint: true},
		{name: "github", input: "https://github.com/ggerganov/llama.cpp", want: "github.com"},
		{name: "dataset", input: "https://huggingface.co/datasets/testorg/Small-GGUF", want: "dataset"},
		{name: "not found", input: "testorg/Missing-GGUF", want: "not found", hint: true},
		{name: "gated", input: "testorg/Gated-GGUF", want: "gated", hint: true},
		{name: "unknown quant", input: smallRepo + ":Q3_K_XL", want: "Q3_K_XL"},
		{name: "unknown quant flag", input: smallRepo, extra: []string{"--quant", "IQ1_S"}, want: "IQ1_S"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"analyze", c.input, "--cpu-only"}, c.extra...)
			r := f.run(c.stdin, args...)
			if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(c.want)) {
				t.Errorf("want a non-zero exit naming %q on stderr: %s", c.want, r)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("panicked: %s", r)
			}
			r = f.run(c.stdin, append(args, "--json")...)
			var e struct {
				Success *bool   `json:"success"`
				Error   string  `json:"error"`
				Hint    *string `json:"hint"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
				t.Fatalf("--json error is not JSON: %v\n%s", err, r)
			}
			if r.code == 0 || e.Success == nil || *e.Success || e.Error == "" || e.Hint == nil {
				t.Errorf("--json error shape: %s", r)
			}
			if !strings.Contains(strings.ToLower(e.Error), strings.ToLower(c.want)) {
				t.Errorf("--json error %q lacks %q", e.Error, c.want)
			}
			if c.hint && *e.Hint == "" {
				t.Errorf("no hint for %s", c.name)
			}
			if r.stderr == "" {
				t.Errorf("--json error not on stderr too")
			}
		})
	}
}

func TestHW(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	var hw struct {
		Detected map[string]any `json:"detected"`
		Target   struct {
			GPUs []struct {
				Name      string `json:"name"`
				VRAMBytes uint64 `json:"vram_bytes"`
			} `json:"gpus"`
			RAMBytes uint64 `json:"ram_bytes"`
		} `json:"target"`
		Notes []string `json:"notes"`
	}
	f.jsonOK(&hw, "hw", "--json")
	if hw.Detected == nil || hw.Target.RAMBytes == 0 {
		t.Errorf("hw --json: %+v", hw)
	}
	f.jsonOK(&hw, "hw", "--gpu", "RTX 4080", "--json")
	if len(hw.Target.GPUs) != 1 || !strings.Contains(hw.Target.GPUs[0].Name, "4080") ||
		hw.Target.GPUs[0].VRAMBytes != 16<<30 {
		t.Errorf("hw --gpu RTX 4080: %+v", hw.Target)
	}
	r := f.ok("", "hw", "--gpu", "RTX 4080")
	if !strings.Contains(r.stdout, "RTX 4080") || !strings.Contains(r.stdout, "17.18 GB") || strings.Contains(r.stdout, "GiB") { // one unit: GB = 10^9 bytes
		t.Errorf("hw human:\n%s", r.stdout)
	}
}
