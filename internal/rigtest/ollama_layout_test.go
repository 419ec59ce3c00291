package rigtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fitbench/fitbench/internal/archtest"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// knownOllamaGaps are the cases where fitbench differs from Ollama today, each
// with its cause (docs/ESTIMATES.md). Their differences are logged, not
// failed; a listed case that matches is reported so the list shrinks.
//
// None today. Ollama's own engine on GPUs is sized by the scheduler replay
// (estimate's sched.go) over the engine's own graph, as llama.cpp's paths
// are; the last gap (the weights of CPU blocks the scheduler copies into the
// first GPU for the ops it offloads, −5.0% / −2.8% on GPU0 under the measured
// rules that came before) closed with it, and gpt-oss with flash attention
// at partial offload (−7.0% on GPU0) closed with build_moe_ffn's routing ops
// and the attention biases/sinks in the graph.
var knownOllamaGaps = map[string]string{}

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
	cmpWith(t, "Ollama", label, what, ours, rig, bound)
}

// TestOllamaLayoutMatchesRig runs the real `ollama serve` on simulated GPUs
// for models on both of Ollama's engines and compares, per device, what Ollama
// placed with fitbench's plan (its num_ctx and num_gpu, OLLAMA_* settings) —
// layers exactly, weights and KV within 1%, compute and totals within the
// offload bounds — and the layer count Ollama's scheduler picks by itself
// (no num_gpu) with fitbench's prediction of it. A plan fitbench says runs
// that Ollama fails to load is a failure.
func TestOllamaLayoutMatchesRig(t *testing.T) {
	bin, lib, models := ollamaRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n, agree, total := 0, 0, 0
	for _, m := range models {
		for _, set := range OllamaSettings {
			for _, sc := range OllamaScenarios(OllamaInput(m, nil, set)) {
				if !OllamaCaseWanted(set, sc.Name) {
					continue
				}
				label := fmt.Sprintf("%s/%s%s", m.Name, sc.Name, set.Suffix)
				c, err := CompareOllama(ctx, bin, lib, t.TempDir(), m, label, OllamaInput(m, sc.GPUs, set), set)
				if err != nil {
					t.Fatal(err)
				}
				checkGap(t, label, func(rp reporter) bool { checkOllamaLoad(rp, label, c.Report, c.In, c.Plan); return true })
				n++
				total++
				if checkGap(t, label+"/own-layout", func(rp reporter) bool { return checkOllamaAuto(rp, label, c.Report, c.Own) }) {
					agree++
				}
			}
		}
	}
	t.Logf("Ollama's own layer choice predicted in %d of %d cases", agree, total)
	if n < len(models)*7 {
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

// TestOllamaForcedNumGPUHangs checks the premise of fitbench's guard against
// Ollama's scheduler hang (estimate's olFindBestFit): a num_gpu whose layers
// need far more than the GPU's space (here 2 MiB of layer space after the
// 457 MiB reserve and the graph, num_gpu 9 for a 110 MB model) makes Ollama
// v0.17.4's float32 binary search spin, and the request never returns.
// fitbench must flag that num_gpu and never plan it itself.
func TestOllamaForcedNumGPUHangs(t *testing.T) {
	bin, lib, models := ollamaRig(t)
	m := models[0] // m-q4-big
	gpus := []estimate.GPU{ogpu("g0", 515<<20)}
	in := OllamaInput(m, gpus, OllamaSetting{Parallel: 1})
	nine := 9
	forced := in
	forced.GPULayers = &nine
	r := estimate.Analyze(forced)
	flagged := false
	for _, a := range r.Advice {
		flagged = flagged || strings.Contains(a, "never finish")
	}
	if !flagged {
		t.Errorf("fitbench does not flag num_gpu 9 on a GPU with 2 MiB of layer space: %v", r.Advice)
	}
	if own := estimate.Analyze(in); own.GPULayers == 9 {
		t.Errorf("fitbench's own plan is the num_gpu Ollama hangs on")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := startImported(ctx, bin, lib, t.TempDir(), SimGPUsOllama(gpus), nil, m.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	body, _ := json.Marshal(map[string]any{"model": "m", "prompt": "hi", "stream": false,
		"options": map[string]any{"num_ctx": 2048, "num_gpu": 9, "num_predict": 1}})
	hctx, hcancel := context.WithTimeout(ctx, 20*time.Second)
	defer hcancel()
	err = archtest.Call(hctx, http.MethodPost, srv.Srv.URL+"/api/generate", bytes.NewReader(body), nil)
	if err == nil {
		t.Errorf("Ollama answered num_gpu 9 on 2 MiB of layer space: its scheduler no longer hangs, fitbench's guard (olFindBestFit) can go")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ollama failed instead of hanging: %v", err)
	} else {
		t.Logf("as predicted, Ollama did not answer within 20 s (%v)", err)
	}
}

// TestOllamaEngineOffloadTarget checks which GPU receives the ops on CPU
// blocks' weights under Ollama's engine: the first GPU of its scheduler, in
// device order (ml/backend/ggml/ggml.go New lists the GPUs holding weights
// in device order; ggml's op_offload picks the first that takes the op),
// not the GPU holding the first layers. Two GPUs where the second has more
// free memory: Ollama's layout gives the second the earlier blocks and the
// first the later ones, some blocks stay on the CPU, and the first GPU holds
// the copies of those blocks' weights. The sizes and num_gpu are the first
// for which fitbench predicts such a layout; the real Ollama then loads them
// (and chooses by itself).
func TestOllamaEngineOffloadTarget(t *testing.T) {
	bin, lib, models := ollamaRig(t)
	m := models[3] // qwen3, on Ollama's engine
	set := OllamaSetting{Parallel: 1}
	var in estimate.Input
	found := false
	base := uint64(estimate.OllamaMinimumFree >> 20)
	for a := base + 10; a < base+50 && !found; a += 2 {
		for b := a + 2; b <= a+10 && !found; b += 2 {
			for n := 1; n < m.Summary.BlockCount && !found; n++ {
				in = OllamaInput(m, []estimate.GPU{ogpu("g0", a<<20), ogpu("g1", b<<20)}, set)
				in.GPULayers = &n
				d := estimate.Analyze(in).Memory.Devices
				found = d[0].Layers > 0 && d[1].Layers > 0 && ownLayoutRigSafe(in)
			}
		}
	}
	if !found {
		t.Fatal("fitbench predicts no num_gpu that uses both GPUs with blocks on the CPU for qwen3 on 467–517 MiB GPUs")
	}
	r := estimate.Analyze(in)
	if r.EnginePath != estimate.PathOllamaEngine {
		t.Fatalf("qwen3 runs on %s, not Ollama's engine", r.EnginePath)
	}
	label := fmt.Sprintf("qwen3/2gpu-second-larger %d+%d MiB", in.Target.GPUs[0].FreeBytes>>20, in.Target.GPUs[1].FreeBytes>>20)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := CompareOllama(ctx, bin, lib, t.TempDir(), m, label, in, set)
	if err != nil {
		t.Fatal(err)
	}
	checkOllamaLoad(t, label, c.Report, c.In, c.Plan)
	checkOllamaAuto(t, label, c.Report, c.Own)
	// the premise: the first GPU holds the later blocks and the copies
	if d := c.Report.Memory.Devices; d[1].Layers == 0 || d[0].ComputeBytes <= d[1].ComputeBytes {
		t.Errorf("%s: fitbench puts the offloaded ops' copies on GPU1 (compute %d, GPU0 %d)", label, d[1].ComputeBytes, d[0].ComputeBytes)
	}
}

// ownLayoutRigSafe: Ollama's own layout for in does not depend on the GPU
// context. Its fit loop tries layouts its reserve does not hold, and whether
// the runner's allocation succeeds decides between them; on a real GPU the
// runner's context has taken part of the free memory (fitbench's
// GPU.OverheadBytes, here Ollama's 457 MiB reserve standing for it), the
// simulated device has no context and allocates up to all of it. Seen on
// 479 + 489 MiB: Ollama 4 layers on GPU1 after a trial that only a context-free
// device holds, fitbench 3 on GPU0 — 4 on GPU1 with a 1-byte context.
func ownLayoutRigSafe(in estimate.Input) bool {
	ctxFree := in
	ctxFree.Target.GPUs = append([]estimate.GPU(nil), in.Target.GPUs...)
	for i := range ctxFree.Target.GPUs {
		ctxFree.Target.GPUs[i].OverheadBytes = 1
	}
	a, b := estimate.Analyze(in).OllamaFit, estimate.Analyze(ctxFree).OllamaFit
	return a != nil && b != nil && fmt.Sprint(a.GPULayers) == fmt.Sprint(b.GPULayers)
}

// ollamaRig is what every Ollama-on-the-rig test needs: the engine, the
// simulated-GPU library built beside the rig, and the generated models.
func ollamaRig(t *testing.T) (bin, lib string, models []OllamaModel) {
	t.Helper()
	rig := Require(t)
	bin = ollamatest.Require(t)
	lib, err := OllamaLib(rig)
	if err != nil {
		t.Fatal(err)
	}
	models, err = OllamaModels(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin, lib, models
}
