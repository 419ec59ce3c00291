package hardware

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
)

// Override is what the user asked for (--gpu, --vram, --gpus, --tensor-split,
// --ram, --cpu-only, or the page's GPU / VRAM fields).
type Override struct {
	GPU string `json:"gpu,omitempty"` // "RTX 4080", or a list "4090,3090"
	// VRAMGB is GiB per GPU (one size for every GPU); VRAMList is one size per
	// GPU (--vram 24,12). For Apple Silicon it is the Mac's unified memory.
	VRAMGB   float64   `json:"vram_gb,omitempty"`
	VRAMList []float64 `json:"vram_list_gb,omitempty"`
	GPUs     int       `json:"gpus,omitempty"` // number of GPUs (identical when one name or size is given)
	// TensorSplit is llama.cpp's --tensor-split: the share of layers per GPU,
	// any scale ("3,1"). Empty = llama.cpp's default, proportional to free memory.
	TensorSplit []float64 `json:"tensor_split,omitempty"`
	RAMGB       float64   `json:"ram_gb,omitempty"` // system RAM in GiB, when detection cannot read it or to plan another machine
	CPUOnly     bool      `json:"cpu_only,omitempty"`
}

// Note is something the analysis assumed. Text is true wherever it is shown;
// CLI and Page say what the user can do about it in the command line's terms
// (flags) and in the web page's terms (its fields).
type Note struct {
	Text string `json:"text"`
	CLI  string `json:"cli,omitempty"`
	Page string `json:"page,omitempty"`
}

// ForCLI is the note as the command line prints it.
func (n Note) ForCLI() string { return join(n.Text, n.CLI) }

// ForPage is the note as the web page shows it.
func (n Note) ForPage() string { return join(n.Text, n.Page) }

func join(text, how string) string {
	if how == "" {
		return text
	}
	return text + " — " + how
}

// CLINotes and PageNotes phrase a list of notes for one place.
func CLINotes(ns []Note) []string  { return mapNotes(ns, Note.ForCLI) }
func PageNotes(ns []Note) []string { return mapNotes(ns, Note.ForPage) }

func mapNotes(ns []Note, f func(Note) string) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, f(n))
	}
	return out
}

// DefaultCPUBandwidth is the assumed effective system-RAM bandwidth in GB/s
// (dual-channel DDR4/DDR5 desktop measures 35–60 GB/s); set FITBENCH_RAM_BW to
// a measured value.
const DefaultCPUBandwidth = 40.0

// Fallback figures for a GPU that is not in the table (its memory is known).
const (
	fallbackBandwidth = 300.0
	fallbackTFLOPS    = 30.0
)

// Resolve turns detection plus overrides into the estimate target and notes
// that say what was assumed. A GPU name that cannot be resolved is an error
// (*MatchError) unless its memory is given; a GPU is never assumed to have
// 0 GiB — without memory it is left out and the analysis is for the CPU.
func Resolve(h Hardware, o Override) (estimate.Target, []Note, error) {
	threads := h.CPUCores // llama.cpp's default: one thread per physical core
	if threads <= 0 {
		threads = h.CPUThreads
	}
	t := estimate.Target{RAMBytes: h.RAMAvailBytes, CPUThreads: threads, CPUBandwidth: DefaultCPUBandwidth}
	if t.RAMBytes == 0 {
		t.RAMBytes = h.RAMTotalBytes
	}
	t.CPUGFLOPS = float64(max(threads, 1)) * 50 // ~50 GFLOPS/thread with AVX2 FMA
	var notes []Note
	for _, n := range h.Notes {
		notes = append(notes, Note{Text: n})
	}
	ramBW, bwSet := 0.0, false
	if v, err := strconv.ParseFloat(os.Getenv("FITBENCH_RAM_BW"), 64); err == nil && v > 0 {
		ramBW, bwSet = v, true
	}
	bwNote := func(unifiedBW float64) {
		switch {
		case bwSet:
			t.CPUBandwidth = ramBW
			notes = append(notes, Note{Text: fmt.Sprintf("system RAM bandwidth %.0f GB/s (FITBENCH_RAM_BW)", ramBW)})
		case unifiedBW > 0:
			t.CPUBandwidth = unifiedBW
			notes = append(notes, Note{Text: fmt.Sprintf("CPU-side layers assumed to read unified memory at %.0f GB/s (%.0f%% of the chip's bandwidth)", unifiedBW, appleCPUShare*100),
				CLI: "set FITBENCH_RAM_BW to your measurement"})
		default:
			notes = append(notes, Note{Text: fmt.Sprintf("system RAM bandwidth assumed %.0f GB/s", DefaultCPUBandwidth),
				CLI: "set FITBENCH_RAM_BW to your measurement"})
		}
	}
	if o.RAMGB > 0 {
		t.RAMBytes = gib(o.RAMGB)
		notes = append(notes, Note{Text: fmt.Sprintf("system RAM %.0f GiB as given", o.RAMGB)})
	}
	if err := o.validate(); err != nil {
		return t, notes, err
	}
	if o.CPUOnly {
		bwNote(0)
		notes = append(notes, Note{Text: "CPU only, as asked"})
		ramNote(&t, &notes)
		return t, notes, nil
	}
	gpus, gnotes, err := targetGPUs(h, o)
	if err != nil {
		return t, notes, err
	}
	notes = append(notes, gnotes...)
	for _, g := range gpus {
		if g.unified {
			// Apple Silicon: the GPU's budget is part of the same RAM the CPU
			// side uses, so system RAM is the whole unified memory.
			t.Unified = true
			if !slices.ContainsFunc(notes, func(n Note) bool { return strings.HasPrefix(n.Text, "unified memory") }) {
				notes = append(notes, appleNote(g))
			}
			// The whole unified memory, not what vm_stat calls free: macOS
			// compresses and pages out idle apps to make room, and the GPU
			// side is already bounded by the working set.
			if o.RAMGB == 0 {
				t.RAMBytes = g.totalBytes
			}
		}
		t.GPUs = append(t.GPUs, g.GPU)
	}
	if t.Unified {
		bwNote(t.GPUs[0].BandwidthGBs * appleCPUShare)
	} else {
		bwNote(0)
	}
	if len(o.TensorSplit) > 0 {
		if len(o.TensorSplit) != len(t.GPUs) {
			return t, notes, &OverrideError{Msg: fmt.Sprintf("tensor split has %d shares for %d GPUs", len(o.TensorSplit), len(t.GPUs)),
				CLI: "give one share per GPU, e.g. --tensor-split 3,1 for two GPUs", Page: "give one share per GPU"}
		}
		for i := range t.GPUs {
			t.GPUs[i].Split = o.TensorSplit[i]
		}
		notes = append(notes, Note{Text: "layers split over the GPUs by the given tensor split, as llama.cpp --tensor-split does"})
	} else if len(t.GPUs) > 1 {
		notes = append(notes, Note{Text: "layers split over the GPUs in proportion to their free memory (llama.cpp's default)",
			CLI: "--tensor-split sets other shares"})
	}
	if len(t.GPUs) == 0 {
		notes = append(notes, Note{Text: "no GPU with known memory: analysed for the CPU only",
			CLI: `target a GPU with --gpu "RTX 4080" or --vram 16`, Page: "type a GPU name or its VRAM in GB to analyse for a GPU"})
	}
	ramNote(&t, &notes)
	return t, notes, nil
}

// ramNote marks a target whose system RAM is unknown, so the estimate does
// not claim that what spills out of the GPU fits.
func ramNote(t *estimate.Target, notes *[]Note) {
	if t.RAMBytes == 0 {
		t.RAMUnknown = true
		*notes = append(*notes, Note{Text: "system RAM could not be read: whatever does not fit in GPU memory cannot be judged",
			CLI: "give it with --ram GB"})
	}
}

// resolvedGPU is an estimate GPU plus what Resolve needs to know about it.
type resolvedGPU struct {
	estimate.GPU
	unified    bool
	totalBytes uint64 // Apple: the whole unified memory
	wiredMB    uint64 // Apple: iogpu.wired_limit_mb of the detected Mac
}

// targetGPUs builds the GPU list: named GPUs (with sizes), sizes alone, or
// the detected GPUs, in that order of precedence.
func targetGPUs(h Hardware, o Override) ([]resolvedGPU, []Note, error) {
	var names []string
	for _, n := range strings.Split(o.GPU, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	sizes := o.VRAMList
	if len(sizes) == 0 && o.VRAMGB > 0 {
		sizes = []float64{o.VRAMGB}
	}
	if len(names) == 0 && len(sizes) == 0 {
		return detectedGPUs(h, o)
	}
	if len(names) == 0 && len(h.GPUs) > 0 {
		// --vram alone on a machine with GPUs: the detected models with the
		// given memory (planning a bigger card of the same speed, or
		// correcting what the driver reports).
		for i := 0; i < max(len(sizes), o.GPUs, 1); i++ {
			names = append(names, h.GPUs[min(i, len(h.GPUs)-1)].Name)
		}
	}
	n := max(len(names), len(sizes), o.GPUs)
	if n > maxGPUs {
		return nil, nil, &OverrideError{Msg: fmt.Sprintf("%d GPUs is more than fitbench plans for (%d)", n, maxGPUs),
			CLI: "give at most 64 GPU names or sizes", Page: "give at most 64 GPU names or sizes"}
	}
	if len(names) > 1 && len(names) != n || len(sizes) > 1 && len(sizes) != n {
		return nil, nil, &OverrideError{Msg: fmt.Sprintf("%d GPU names and %d memory sizes for %d GPUs", len(names), len(sizes), n),
			CLI:  "give one name (or size) for all GPUs, or one per GPU: --gpu 4090,3090 or --vram 24,12",
			Page: "give one GPU name or size, or one per GPU separated by commas"}
	}
	var out []resolvedGPU
	var notes []Note
	for i := 0; i < n; i++ {
		name, size := "", 0.0
		if len(names) > 0 {
			name = names[min(i, len(names)-1)]
		}
		if len(sizes) > 0 {
			size = sizes[min(i, len(sizes)-1)]
		}
		g, note, err := namedGPU(name, size)
		if err != nil {
			return nil, nil, err
		}
		if note != nil && !slices.Contains(notes, *note) {
			notes = append(notes, *note)
		}
		out = append(out, g)
	}
	return out, notes, nil
}

// namedGPU resolves one typed name and/or size. A size makes any name usable:
// an unknown name then gets fallback speed figures, an ambiguous one the
// slowest candidate's.
func namedGPU(name string, sizeGiB float64) (resolvedGPU, *Note, error) {
	if name == "" {
		g := resolvedGPU{GPU: estimate.GPU{Name: "GPU", VRAMBytes: gib(sizeGiB), BandwidthGBs: fallbackBandwidth, FP16TFLOPS: fallbackTFLOPS}}
		return g, &Note{Text: fmt.Sprintf("a GPU with %g GiB and assumed %0.f GB/s, %.0f FP16 TFLOPS", sizeGiB, fallbackBandwidth, fallbackTFLOPS),
			CLI: "name it with --gpu for its real speed", Page: "type its name for its real speed"}, nil
	}
	k, err := Match(name, sizeGiB)
	var me *MatchError
	switch {
	case err == nil:
	case errors.As(err, &me) && sizeGiB > 0 && len(me.Candidates) > 0:
		k = slowest(me.Candidates)
		g := fromKnown(k, sizeGiB)
		return g, &Note{Text: fmt.Sprintf("%q could be %s: assumed the slowest, %s", name, strings.Join(me.Near, ", "), k.Name),
			CLI: "name the exact model with --gpu", Page: "type the exact model for its figures"}, nil
	case errors.As(err, &me) && sizeGiB > 0:
		g := resolvedGPU{GPU: estimate.GPU{Name: name, VRAMBytes: gib(sizeGiB), BandwidthGBs: fallbackBandwidth, FP16TFLOPS: fallbackTFLOPS}}
		return g, &Note{Text: fmt.Sprintf("GPU %q is not in the table: %g GiB as given, speed assumed %.0f GB/s and %.0f FP16 TFLOPS", name, sizeGiB, fallbackBandwidth, fallbackTFLOPS),
			CLI: "fitbench hw --known lists the GPUs it knows"}, nil
	default:
		return resolvedGPU{}, nil, err
	}
	return fromKnown(k, sizeGiB), nil, nil
}

// detectedGPUs turns detection into GPUs: real memory, table speeds.
func detectedGPUs(h Hardware, o Override) ([]resolvedGPU, []Note, error) {
	var out []resolvedGPU
	var notes []Note
	for _, d := range h.GPUs {
		memGiB := float64(d.VRAMBytes) / (1 << 30)
		k, err := Match(d.Name, memGiB)
		var me *MatchError
		switch {
		case err == nil:
		case errors.As(err, &me) && len(me.Candidates) > 0:
			k = slowest(me.Candidates)
			notes = append(notes, Note{Text: fmt.Sprintf("detected %q could be %s: assumed the slowest, %s", d.Name, strings.Join(me.Near, ", "), k.Name),
				CLI: "name it with --gpu", Page: "type the exact model into the GPU field"})
		default:
			k = Known{Name: d.Name, BandwidthGBs: fallbackBandwidth, FP16TFLOPS: fallbackTFLOPS, Unified: d.Vendor == "apple"}
			notes = append(notes, Note{Text: fmt.Sprintf("detected GPU %q is not in the table: speed assumed %.0f GB/s and %.0f FP16 TFLOPS", d.Name, fallbackBandwidth, fallbackTFLOPS)})
		}
		if d.Vendor == "apple" {
			k.Unified = true
		}
		var g resolvedGPU
		if k.Unified {
			g = appleGPU(k, d.VRAMBytes, h.WiredLimitMB)
		} else {
			g = resolvedGPU{GPU: estimate.GPU{Name: k.Name, VRAMBytes: d.VRAMBytes, FreeBytes: d.FreeBytes, BandwidthGBs: k.BandwidthGBs, FP16TFLOPS: k.FP16TFLOPS}}
		}
		if g.VRAMBytes == 0 {
			notes = append(notes, Note{Text: fmt.Sprintf("detected GPU %q reports no memory: left out", d.Name),
				CLI: "give its memory with --vram GB", Page: "enter its VRAM in GB"})
			continue
		}
		out = append(out, g)
	}
	if o.GPUs > 0 {
		switch {
		case len(out) > o.GPUs:
			out = out[:o.GPUs]
		case len(out) > 0 && len(out) < o.GPUs:
			last := out[len(out)-1]
			notes = append(notes, Note{Text: fmt.Sprintf("%d GPUs asked for, %d detected: the others assumed to be %s", o.GPUs, len(out), last.Name)})
			for len(out) < o.GPUs {
				out = append(out, last)
			}
		case len(out) == 0:
			return nil, notes, &OverrideError{Msg: fmt.Sprintf("%d GPUs asked for, but none was detected", o.GPUs),
				CLI: `say which: --gpu "RTX 3090" --gpus 2, or --vram 24 --gpus 2`, Page: "type the GPU name or its VRAM"}
		}
	}
	return out, notes, nil
}

func fromKnown(k Known, sizeGiB float64) resolvedGPU {
	if k.Unified {
		mem := k.VRAMGiB
		if sizeGiB > 0 {
			mem = sizeGiB
		}
		return appleGPU(k, gib(mem), 0)
	}
	vram := gib(k.VRAMGiB)
	if sizeGiB > 0 {
		vram = gib(sizeGiB)
	}
	return resolvedGPU{GPU: estimate.GPU{Name: k.Name, VRAMBytes: vram, BandwidthGBs: k.BandwidthGBs, FP16TFLOPS: k.FP16TFLOPS}}
}

func slowest(ks []Known) Known {
	best := ks[0]
	for _, k := range ks[1:] {
		if k.BandwidthGBs < best.BandwidthGBs || k.BandwidthGBs == best.BandwidthGBs && k.VRAMGiB < best.VRAMGiB {
			best = k
		}
	}
	return best
}

// maxGPUs bounds a target: one node, as llama.cpp's GGML_CUDA_MAX_DEVICES (16)
// and an 8-GPU HGX are far below it.
const maxGPUs = 64

func gib(x float64) uint64 { return uint64(x * (1 << 30)) }

// OverrideError is a contradictory or impossible hardware request.
type OverrideError struct{ Msg, CLI, Page string }

func (e *OverrideError) Error() string   { return e.Msg }
func (e *OverrideError) CLIHint() string { return e.CLI }

// ErrorHint is the page's phrasing.
func (e *OverrideError) ErrorHint() string { return e.Page }
func (e *OverrideError) HTTPStatus() int   { return 400 }

func (o Override) validate() error {
	bad := func(what string, v float64) error {
		return &OverrideError{Msg: fmt.Sprintf("%s %g is out of range", what, v), CLI: "give sizes in GiB, e.g. 24", Page: "give sizes in GB, e.g. 24"}
	}
	for _, v := range append([]float64{o.VRAMGB, o.RAMGB}, o.VRAMList...) {
		if !(v >= 0 && v <= 100000) { // also NaN
			return bad("memory size", v)
		}
	}
	for _, v := range o.TensorSplit {
		if !(v >= 0 && v <= 1e6) {
			return bad("tensor split share", v)
		}
	}
	if len(o.TensorSplit) > 0 && slices.Max(o.TensorSplit) == 0 {
		return &OverrideError{Msg: "tensor split has no positive share", CLI: "e.g. --tensor-split 3,1"}
	}
	if o.GPUs < 0 || o.GPUs > maxGPUs {
		return &OverrideError{Msg: fmt.Sprintf("%d GPUs is out of range", o.GPUs), CLI: "--gpus takes 1 to 64"}
	}
	return nil
}
