package rigtest

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
)

// Scenario is one device configuration for a model, sized from fitbench's own
// full-offload estimate so that every model lands in the intended regime.
type Scenario struct {
	Name string
	GPUs []estimate.GPU // as fitbench sees them (free memory before the CUDA context)
}

// RAM is the system RAM every scenario assumes (plenty: these are small models).
const RAM = 16 << 30

// Margin is the safety margin the scenarios plan with: fitbench's default (5%
// of VRAM) is larger than these test models, so a scenario sized for partial
// offload would plan no layers at all.
const Margin = 1 << 20

// SimGPUs maps fitbench's GPUs to simulated devices: the device offers its free
// memory minus the runtime overhead fitbench reserves (the CUDA context a real
// GPU loses before llama.cpp allocates; DefaultGPUOverhead unless set).
func SimGPUs(gpus []estimate.GPU) []GPU {
	out := make([]GPU, len(gpus))
	for i, g := range gpus {
		free := g.FreeBytes
		if free == 0 {
			free = g.VRAMBytes
		}
		oh := g.OverheadBytes
		if oh == 0 {
			oh = estimate.DefaultGPUOverhead
		}
		out[i] = GPU{FreeBytes: free - min(oh, free-1<<20), TotalBytes: g.VRAMBytes - min(oh, g.VRAMBytes-1<<20)}
	}
	return out
}

func gpu(name string, free uint64) estimate.GPU {
	return estimate.GPU{Name: name, VRAMBytes: free, FreeBytes: free, BandwidthGBs: 300, FP16TFLOPS: 20}
}

// Scenarios sizes the devices for one model and settings: full offload on one
// GPU, on two GPUs with room for pipeline parallelism and on two unequal GPUs
// (2:1) without it, partial offload on one and on two, a GPU too small for any
// layer, and no GPU at all.
func Scenarios(base estimate.Input) []Scenario {
	in := base
	in.Target = estimate.Target{GPUs: []estimate.GPU{gpu("big", 64<<30)}, RAMBytes: RAM}
	in.SafetyMargin = Margin
	full := estimate.Analyze(in)
	need := full.Memory.Devices[0].TotalBytes - full.Memory.Devices[0].OverheadBytes // what the layers need on a GPU
	oh := uint64(estimate.DefaultGPUOverhead)
	// two GPUs with room for every layer and pipeline parallelism's copies
	in2 := in
	in2.Target = estimate.Target{GPUs: []estimate.GPU{gpu("big0", 64<<30), gpu("big1", 32<<30)}, RAMBytes: RAM}
	pp := estimate.Analyze(in2).Memory.Devices
	pp0, pp1 := pp[0].TotalBytes-pp[0].OverheadBytes, pp[1].TotalBytes-pp[1].OverheadBytes
	return []Scenario{
		{"1gpu-full", []estimate.GPU{gpu("g0", oh+need*2)}},
		{"2gpu-full-pipeline", []estimate.GPU{gpu("g0", oh+pp0*5/4), gpu("g1", oh+pp1*5/4)}},
		{"2gpu-full-2:1", []estimate.GPU{gpu("g0", oh+need*4/3), gpu("g1", oh+need*2/3)}},
		{"1gpu-partial", []estimate.GPU{gpu("g0", oh+need*55/100)}},
		{"2gpu-partial-2:1", []estimate.GPU{gpu("g0", oh+need*40/100), gpu("g1", oh+need*20/100)}},
		{"1gpu-too-small", []estimate.GPU{gpu("g0", oh+need/50)}},
		{"cpu-only", nil},
	}
}

// Comparison is fitbench's estimate and the rig's measurement for one case.
type Comparison struct {
	Label  string
	Report estimate.Report
	Args   []string
	Rig    *Result
	Ours   []estimate.Device // GPUs first, CPU last (fitbench)
	Engine []Device          // the same order (rig)
}

// Compare analyses in with fitbench, runs the llama-server command of that plan
// in the rig on the same devices and returns both sides.
func Compare(ctx context.Context, bin, model, label string, in estimate.Input) (*Comparison, error) {
	r := estimate.Analyze(in)
	args := estimate.LlamaServerArgs(r, in, model)
	res, err := Run(ctx, bin, SimGPUs(in.Target.GPUs), args...)
	if err != nil {
		return nil, err
	}
	c := &Comparison{Label: label, Report: r, Args: args, Rig: res, Ours: r.Memory.Devices, Engine: res.Devices(len(in.Target.GPUs))}
	return c, nil
}

// Summaries for models written by estimatetest.WriteModels are used as is; this
// helper names a case.
func Label(s gguf.Summary, name, scen string, in estimate.Input) string {
	l := fmt.Sprintf("%s/%s ctx=%d np=%d", name, scen, in.Context, max(in.Parallel, 1))
	if in.CacheType != "" {
		l += " kv=" + in.CacheType
	}
	if in.FlashAttention != nil && !*in.FlashAttention {
		l += " fa=off"
	}
	return l
}

// FitCase is one llama-server start with its defaults (no -ngl, the model's
// training context unless Ctx is set) on devices sized around the 1 GiB margin
// llama_params_fit keeps.
type FitCase struct {
	Name string
	GPUs []estimate.GPU
	Ctx  int // -c; 0 = not given
}

// FitCases sizes devices from fitbench's estimate of the full offload at the
// training context: roomy (no change), context cut, layers cut after the
// context floor, two unequal GPUs, a user-set context.
func FitCases(in estimate.Input) []FitCase {
	q := in
	q.Context = in.Summary.ContextLength / max(in.Parallel, 1)
	q.Target = estimate.Target{GPUs: []estimate.GPU{gpu("big", 64<<30)}, RAMBytes: RAM}
	r := estimate.Analyze(q)
	d := r.Memory.Devices[0]
	need := d.TotalBytes - d.OverheadBytes
	oh := uint64(estimate.DefaultGPUOverhead)
	m := uint64(estimate.LlamaFitMargin)
	return []FitCase{
		{"roomy", []estimate.GPU{gpu("g0", oh+m+need*3/2)}, 0},
		{"ctx-cut", []estimate.GPU{gpu("g0", oh+m+need-d.KVBytes/4)}, 0},
		{"layers-cut", []estimate.GPU{gpu("g0", oh+m+need/3)}, 0},
		{"2gpu-layers", []estimate.GPU{gpu("g0", oh+m+need*6/10), gpu("g1", oh+m+need*4/10)}, 0},
		{"user-ctx", []estimate.GPU{gpu("g0", oh+m+need/2)}, in.Summary.ContextLength},
	}
}

// FitArgs is the llama-server command line of a fit case (defaults otherwise).
func FitArgs(model string, in estimate.Input, fc FitCase) []string {
	a := []string{"-m", model}
	if fc.Ctx > 0 {
		a = append(a, "-c", strconv.Itoa(fc.Ctx))
	}
	if in.Parallel > 1 {
		a = append(a, "-np", strconv.Itoa(in.Parallel))
	}
	return a
}

// SameSplit compares one tensor_split entry the rig printed with the layer
// count fitbench predicted: llama_model_params holds it as a float (so
// llama_params_fit's uint32 layer count 4294967295 — its own wrap-around — is
// 4.2949673e9 there) and the rig prints it with %g, six significant digits.
func SameSplit(got float64, layers int) bool {
	want := float64(float32(layers))
	return math.Abs(got-want) <= 1e-5*max(1, math.Abs(want))
}
