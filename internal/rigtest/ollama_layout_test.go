package rigtest

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/archtest"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// knownOllamaGaps are the cases where fitbench differs from Ollama today, each
// with its cause (docs/ESTIMATES.md). Their differences are logged, not
// failed; a listed case that matches is reported so the list shrinks.
var knownOllamaGaps = map[string]string{
	// fitbench's compute graph for Ollama's engine without flash attention
	// is 15–19% under what its runner reports (qwen3: 21.5 vs 25.2 MB at full
	// offload, 26.5 MB at partial); with the true graph the first GPU no
	// longer holds the layers and Ollama moves them to the second
	"qwen3/2gpu-partial-2:1":      "engine graph −19%: Ollama places num_gpu 2 on GPU1, fitbench on GPU0",
	"qwen3/2gpu-split/own-layout": "engine graph −19%: Ollama's loop ends at [4 1], fitbench's at [4 0]",
}

// reporter is what the checks need of a test; gapReporter turns the errors
// of a known gap into log lines and counts them.
type reporter interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}

type gapReporter struct {
	*testing.T
	gap  string
	errs int
}

func (g *gapReporter) Errorf(format string, args ...any) {
	g.Helper()
	g.errs++
	g.Logf("KNOWN GAP (%s): "+format, append([]any{g.gap}, args...)...)
}

// checkGap runs check with the known-gap reporter when label is listed.
func checkGap(t *testing.T, label string, check func(reporter) bool) bool {
	t.Helper()
	gap, known := knownOllamaGaps[label]
	if !known {
		return check(t)
	}
	g := &gapReporter{T: t, gap: gap}
	ok := check(g)
	if g.errs == 0 {
		t.Logf("%s: listed as a known gap (%s) but now matches: remove it from knownOllamaGaps", label, gap)
	}
	return ok
}

func ocmp(t reporter, label, what string, ours, rig uint64, bound [2]float64) {
	t.Helper()
	d := float64(ours) - float64(rig)
	rel := 0.0
	if rig > 0 {
		rel = d / float64(rig)
	}
	t.Logf("%-48s %-9s ours %10d Ollama %10d %+7.2f%%", label, what, ours, rig, 100*rel)
	if math.Abs(d) > slack && (rig == 0 || rel < bound[0] || rel > bound[1]) {
		t.Errorf("%s: %s ours %d vs Ollama %d (%+.2f%%, bounds %+.0f%%…%+.0f%%)", label, what, ours, rig, 100*rel, 100*bound[0], 100*bound[1])
	}
}

// ollamaCase is one model of the Ollama layout test.
type ollamaCase struct {
	Name    string
	Path    string
	Summary gguf.Summary
}

// ollamaLayoutModels: three models of the estimate matrix that Ollama runs on
// its llama.cpp runner (llama untied, llama tied, qwen2 with q/k/v biases) and
// one that it runs on its own engine (qwen3).
func ollamaLayoutModels(t *testing.T) []ollamaCase {
	t.Helper()
	var specs = []string{"m-q4-big", "m-q8-gqa8", "m-qwen2-f16"}
	var out []ollamaCase
	for _, m := range estimatetest.Models {
		for _, n := range specs {
			if m.Name != n {
				continue
			}
			paths, sums, err := estimatetest.WriteModels(t.TempDir(), estimatetest.Models[indexOf(m.Name):indexOf(m.Name)+1])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ollamaCase{m.Name, paths[0], sums[0]})
		}
	}
	for _, p := range []string{"qwen3"} {
		m, err := archtest.WriteModel(archtest.CacheDir(), p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ollamaCase{p, m.Path, m.Summary})
	}
	return out
}

func indexOf(name string) int {
	for i, m := range estimatetest.Models {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// ollamaInput is fitbench's input for a model under Ollama on the rig. Flash
// attention: Ollama enables it only on GPUs its ml.FlashAttentionSupported
// lists (CPU, Metal, CUDA with driver ≥ 7, ROCm, Vulkan); the simulated device
// reports library SIMGPU, so Ollama's own engine runs without it. Its llama.cpp
// runner leaves it on "auto", which llama.cpp resolves to on.
func ollamaInput(c ollamaCase, gpus []estimate.GPU) estimate.Input {
	in := estimate.Input{Summary: c.Summary, Engine: estimate.EngineOllama, Context: 2048, Parallel: 1,
		SafetyMargin: Margin, Target: estimate.Target{GPUs: gpus, RAMBytes: RAM}}
	if r := estimate.Analyze(in); r.EnginePath == estimate.PathOllamaEngine {
		off := false
		in.FlashAttention = &off
	}
	return in
}

// OllamaScenarios sizes the simulated GPUs for one model around what Ollama
// itself plans with: its reserve (457 MiB minimum free per GPU, ml/device.go
// MinimumMemory) and its own estimate of the full offload (OllamaFit's
// size_vram on a large GPU: layers and graph). Every layer fits one GPU;
// three quarters of it on one GPU; two unequal GPUs (60% and 40%); two GPUs
// that hold it only together (75% and 65%); a GPU under the reserve (Ollama places no layer on it, whatever num_gpu
// says).
func OllamaScenarios(in estimate.Input) []Scenario {
	q := in
	q.Target = estimate.Target{GPUs: []estimate.GPU{gpu("big", 64<<30)}, RAMBytes: RAM}
	full := estimate.Analyze(q)
	need := full.Memory.Devices[0].TotalBytes - full.Memory.Devices[0].OverheadBytes
	if full.OllamaFit != nil {
		need = max(need, full.OllamaFit.VRAMBytes)
	}
	base := uint64(estimate.OllamaMinimumFree)
	return []Scenario{
		{"1gpu-full", []estimate.GPU{ogpu("g0", base+need*2)}},
		{"1gpu-partial", []estimate.GPU{ogpu("g0", base+need*75/100)}},
		{"2gpu-partial-2:1", []estimate.GPU{ogpu("g0", base+need*60/100), ogpu("g1", base+need*40/100)}},
		{"2gpu-split", []estimate.GPU{ogpu("g0", base+need*75/100), ogpu("g1", base+need*65/100)}},
		{"1gpu-under-reserve", []estimate.GPU{ogpu("g0", estimate.OllamaMinimumFree*2/3)}},
	}
}

// ogpu is a GPU for the Ollama rig. The simulated device offers exactly its
// free memory (SimGPUsOllama): Ollama reads the free memory before its runner
// creates a context, and the simulated device has no context to create. So
// fitbench's runtime overhead is set to Ollama's own reserve for it (457 MiB,
// which stands for that context): both then plan against the same space.
func ogpu(name string, free uint64) estimate.GPU {
	g := gpu(name, free)
	g.OverheadBytes = estimate.OllamaMinimumFree
	return g
}

// SimGPUsOllama: each simulated device offers the GPU's whole free memory.
func SimGPUsOllama(gpus []estimate.GPU) []GPU {
	out := make([]GPU, len(gpus))
	for i, g := range gpus {
		out[i] = GPU{FreeBytes: g.FreeBytes, TotalBytes: g.VRAMBytes}
	}
	return out
}

// ollamaEnv is the server environment of fitbench's Ollama command, as run on
// the rig. OLLAMA_FLASH_ATTENTION=1 is left out: on a CUDA GPU it turns flash
// attention on, on the simulated device (library SIMGPU, not in
// ml.FlashAttentionSupported) it would turn it off; without it the llama.cpp
// runner's "auto" gives the on that the variable gives on CUDA.
func ollamaEnv(r estimate.Report) (env []string, hidden bool) {
	for _, e := range r.Command.OllamaEnv {
		switch e {
		case "OLLAMA_FLASH_ATTENTION=1":
			continue
		case "CUDA_VISIBLE_DEVICES=-1":
			hidden = true
			continue
		}
		env = append(env, e)
	}
	return env, hidden
}

// startImported starts a server on sims and imports the model as "m".
func startImported(ctx context.Context, bin, lib, dir string, sims []GPU, env []string, model string) (*OllamaServer, error) {
	srv, err := StartOllama(bin, lib, filepath.Join(dir, "o"), sims, env)
	if err != nil {
		return nil, err
	}
	if err := srv.Import(ctx, "m", model); err != nil {
		srv.Stop()
		return nil, err
	}
	return srv, nil
}

// TestOllamaLayoutMatchesRig runs the real `ollama serve` on simulated GPUs
// for models on both of Ollama's engines and compares, per device, what Ollama
// placed with fitbench's plan (its num_ctx and num_gpu, OLLAMA_* settings) —
// layers exactly, weights and KV within 1%, compute and totals within the
// offload bounds — and the layer count Ollama's scheduler picks by itself
// (no num_gpu) with fitbench's prediction of it. A plan fitbench says runs
// that Ollama fails to load is a failure.
func TestOllamaLayoutMatchesRig(t *testing.T) {
	rig := Require(t)
	bin := ollamatest.Require(t)
	lib, err := OllamaLib(rig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	models := ollamaLayoutModels(t)
	n, agree, total := 0, 0, 0
	for _, m := range models {
		for _, sc := range OllamaScenarios(ollamaInput(m, nil)) {
			in := ollamaInput(m, sc.GPUs)
			r := estimate.Analyze(in)
			if r.GPULayers == 0 && in.FlashAttention != nil {
				// num_gpu 0: Ollama's scheduler passes no GPU to the runner,
				// so flash attention is decided as on a CPU (its default)
				zero := 0
				in.FlashAttention, in.GPULayers = nil, &zero
				r = estimate.Analyze(in)
			}
			label := fmt.Sprintf("%s/%s", m.Name, sc.Name)
			env, hidden := ollamaEnv(r)
			sims := SimGPUsOllama(sc.GPUs)
			if hidden {
				// CUDA_VISIBLE_DEVICES=-1 hides a CUDA GPU, not the simulated
				// one: on the rig, hiding is starting without the device
				sims = nil
			}
			srv, err := startImported(ctx, bin, lib, t.TempDir(), sims, env, m.Path)
			if err != nil {
				t.Fatal(err)
			}
			srv.NGPU = len(sc.GPUs)
			lctx, lcancel := context.WithTimeout(ctx, 90*time.Second)
			got, err := srv.Load(lctx, "m", r.Command.OllamaOptions)
			lcancel()
			if err != nil {
				srv.Stop()
				t.Fatalf("%s: %v", label, err)
			}
			checkGap(t, label, func(rp reporter) bool { checkOllamaLoad(rp, label, r, in, got); return true })
			n++
			// Ollama's own choice: no num_gpu, the GPUs visible
			if hidden {
				srv.Stop()
				if srv, err = startImported(ctx, bin, lib, t.TempDir(), SimGPUsOllama(sc.GPUs), env, m.Path); err != nil {
					t.Fatal(err)
				}
			}
			lctx, lcancel = context.WithTimeout(ctx, 90*time.Second)
			auto, err := srv.Load(lctx, "m", map[string]int{"num_ctx": r.Command.OllamaOptions["num_ctx"]})
			lcancel()
			srv.Stop()
			if err != nil {
				t.Fatalf("%s auto: %v", label, err)
			}
			total++
			if checkGap(t, label+"/own-layout", func(rp reporter) bool { return checkOllamaAuto(rp, label, r, auto) }) {
				agree++
			}
		}
	}
	t.Logf("Ollama's own layer choice predicted in %d of %d cases", agree, total)
	if n < len(models)*5 {
		t.Fatalf("only %d Ollama comparisons ran", n)
	}
}

func wantPath(r estimate.Report) string {
	if r.EnginePath == estimate.PathOllamaEngine {
		return "ollama"
	}
	return "llamacpp"
}

func checkOllamaLoad(t reporter, label string, r estimate.Report, in estimate.Input, got *OllamaLoad) {
	t.Helper()
	opts := fmt.Sprint(r.Command.OllamaOptions, " ", r.Command.OllamaEnv)
	if !got.OK {
		if r.Verdict != estimate.VerdictNoFit {
			t.Errorf("%s: fitbench says %s (%s), Ollama failed: %s\n%s", label, r.Verdict, opts, got.Error, tail(got.Log, 3000))
		}
		return
	}
	if got.Engine != wantPath(r) {
		t.Errorf("%s: Ollama ran the %s runner, fitbench says %s", label, got.Engine, r.EnginePath)
	}
	nG := len(in.Target.GPUs)
	if got.NumGPU != r.GPULayers {
		t.Errorf("%s: Ollama offloaded %d/%d layers, fitbench planned num_gpu %d (%s)", label, got.NumGPU, got.Total, r.GPULayers, opts)
	}
	ours := r.Memory.Devices
	eng := got.Devices
	if got.Engine == "llamacpp" {
		// the CPU's weights: llama.cpp maps the whole file; what the CPU uses
		// is every tensor not in a GPU model buffer
		var gpuW uint64
		for _, d := range eng[:nG] {
			gpuW += d.WeightsBytes
		}
		if in.Summary.OutputTied && got.NumGPU == got.Total {
			gpuW -= min(gpuW, in.Summary.TokenEmbdBytes) // token_embd duplicated for the output on the GPU
		}
		eng[nG].WeightsBytes = in.Summary.TensorBytes - min(gpuW, in.Summary.TensorBytes)
		eng[nG].TotalBytes = eng[nG].WeightsBytes + eng[nG].KVBytes + eng[nG].ComputeBytes + eng[nG].OutputBytes
	}
	var oursVRAM, engVRAM uint64
	for i := range ours {
		o, e := ours[i], eng[i]
		l := label + " " + e.Name
		if i < nG && o.Layers != e.Layers {
			t.Errorf("%s: layers ours %d Ollama %d (%s)", l, o.Layers, e.Layers, opts)
		}
		ocmp(t, l, "weights", o.WeightsBytes, e.WeightsBytes, boundExact)
		ocmp(t, l, "kv", o.KVBytes, e.KVBytes, boundExact)
		ocmp(t, l, "compute", o.ComputeBytes, e.ComputeBytes, boundCompute)
		ocmp(t, l, "output", o.OutputBytes, e.OutputBytes, boundExact)
		ocmp(t, l, "total", o.TotalBytes-o.OverheadBytes, e.TotalBytes, boundTotal)
		if i < nG {
			oursVRAM += o.TotalBytes - o.OverheadBytes
			engVRAM += e.TotalBytes
		}
	}
	t.Logf("%-48s num_gpu %d: Ollama offloaded %d/%d %v; ollama ps size_vram %d (GPU buffers %d, fitbench %d)",
		label, r.GPULayers, got.NumGPU, got.Total, got.GPULayers, got.SizeVRAM, engVRAM, oursVRAM)
	// `ollama ps` size_vram: on the llama.cpp runner Ollama's own up-front
	// estimate, which fitbench replays exactly; on its engine the runner's
	// buffers (plus the CPU's when every layer is offloaded), an estimate
	if r.OllamaFit != nil {
		b := boundTotal
		if got.Engine == "llamacpp" {
			b = boundExact
		}
		ocmp(t, label, "size_vram", r.OllamaFit.PlanVRAMBytes, got.SizeVRAM, b)
	}
}

// checkOllamaAuto compares the layer count Ollama's scheduler chose without
// num_gpu with fitbench's prediction (Report.OllamaFit).
func checkOllamaAuto(t reporter, label string, r estimate.Report, got *OllamaLoad) bool {
	t.Helper()
	if !got.OK {
		t.Errorf("%s: Ollama's own layout failed to load: %s", label, got.Error)
		return false
	}
	f := r.OllamaFit
	if f == nil {
		t.Errorf("%s: no prediction of Ollama's own layout (Ollama chose %d/%d, per GPU %v)", label, got.NumGPU, got.Total, got.GPULayers)
		return false
	}
	ok := f.NumGPU == got.NumGPU && fmt.Sprint(f.GPULayers) == fmt.Sprint(got.GPULayers)
	t.Logf("%-48s Ollama's own layout %d layers %v | fitbench %d %v (%s)", label, got.NumGPU, got.GPULayers, f.NumGPU, f.GPULayers, f.Note)
	if !ok {
		t.Errorf("%s: Ollama chose %d layers %v by itself, fitbench predicted %d %v", label, got.NumGPU, got.GPULayers, f.NumGPU, f.GPULayers)
	}
	return ok
}
