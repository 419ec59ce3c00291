package rigtest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/archtest"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf"
)

// OllamaModel is one model of the Ollama layout comparison.
type OllamaModel struct {
	Name    string
	Path    string
	Summary gguf.Summary
}

// OllamaModels writes the models of the comparison into dir: three of the
// estimate matrix that Ollama runs on its llama.cpp runner (llama untied,
// llama tied, qwen2 with q/k/v biases), the qwen3 preset, which it runs on
// its own engine, and the gptoss preset (MoE with attention sinks and
// biases, sliding layers), also on its engine (cached like the engine
// matrix's models).
func OllamaModels(dir string) ([]OllamaModel, error) {
	var out []OllamaModel
	for _, n := range []string{"m-q4-big", "m-q8-gqa8", "m-qwen2-f16"} {
		i := indexOf(n)
		paths, sums, err := estimatetest.WriteModels(dir, estimatetest.Models[i:i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, OllamaModel{n, paths[0], sums[0]})
	}
	for _, p := range []string{"qwen3", "gptoss"} {
		m, err := archtest.WriteModel(archtest.CacheDir(), p)
		if err != nil {
			return nil, err
		}
		out = append(out, OllamaModel{p, m.Path, m.Summary})
	}
	return out, nil
}

// OllamaSetting is one server setting of the comparison.
type OllamaSetting struct {
	Parallel int
	Suffix   string // appended to the case label
	// CUDA labels the simulated GPUs library CUDA (FITBENCH_SIMGPU_LIBRARY,
	// tools/simgpu): Ollama then enables flash attention on them as on a CUDA
	// GPU (ml.FlashAttentionSupported reads only the label and the driver).
	CUDA bool
}

// OllamaSettings: one sequence, and two (OLLAMA_NUM_PARALLEL=2: KV and graph
// for num_ctx × 2 in Ollama's estimate and in the runner), and one sequence
// on GPUs labelled CUDA (flash attention on Ollama's engine too).
var OllamaSettings = []OllamaSetting{{Parallel: 1}, {Parallel: 2, Suffix: " np=2"}, {Parallel: 1, Suffix: " cuda", CUDA: true}}

// OllamaCaseWanted: every device setup at one sequence; three of them (one
// GPU full and partial, two GPUs split) at two and under the CUDA label,
// which is enough to check those rules and keeps the run to a few minutes.
func OllamaCaseWanted(set OllamaSetting, scenario string) bool {
	if set.CUDA {
		return scenario == "1gpu-full" || scenario == "1gpu-partial" || scenario == "2gpu-split"
	}
	return set.Parallel <= 1 || scenario == "1gpu-partial" || scenario == "2gpu-split"
}

func indexOf(name string) int {
	for i, m := range estimatetest.Models {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// OllamaInput is fitbench's input for a model under Ollama on the rig. Flash
// attention: Ollama enables it only on GPUs its ml.FlashAttentionSupported
// lists (CPU, Metal, CUDA with driver ≥ 7, ROCm, Vulkan); the simulated device
// reports library SIMGPU unless the setting labels it CUDA, so Ollama's own
// engine runs without it there. Its llama.cpp runner leaves it on "auto",
// which llama.cpp resolves to on.
func OllamaInput(c OllamaModel, gpus []estimate.GPU, set OllamaSetting) estimate.Input {
	in := estimate.Input{Summary: c.Summary, Engine: estimate.EngineOllama, Context: 2048, Parallel: max(set.Parallel, 1),
		SafetyMargin: Margin, Target: estimate.Target{GPUs: gpus, RAMBytes: RAM}}
	if r := estimate.Analyze(in); r.EnginePath == estimate.PathOllamaEngine && !set.CUDA {
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
// that hold it only together (75% and 65%); a GPU under the reserve (Ollama
// places no layer on it, whatever num_gpu says).
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

// OllamaEnv is the server environment of fitbench's Ollama command, as run on
// the rig. OLLAMA_FLASH_ATTENTION=1 is left out unless the GPUs are labelled
// CUDA: on a CUDA GPU it turns flash attention on, on the simulated device
// (library SIMGPU, not in ml.FlashAttentionSupported) it would turn it off;
// without it the llama.cpp runner's "auto" gives the on that the variable
// gives on CUDA.
func OllamaEnv(r estimate.Report, set OllamaSetting) (env []string, hidden bool) {
	if set.CUDA {
		env = append(env, "FITBENCH_SIMGPU_LIBRARY=CUDA")
	}
	for _, e := range r.Command.OllamaEnv {
		switch e {
		case "OLLAMA_FLASH_ATTENTION=1":
			if set.CUDA {
				env = append(env, e)
			}
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

// OllamaComparison is one case: fitbench's report, the load of its plan and
// the load Ollama chose by itself (no num_gpu).
type OllamaComparison struct {
	Label     string
	In        estimate.Input
	Report    estimate.Report
	Plan, Own *OllamaLoad
}

// CompareOllama analyses in, runs `ollama serve` on the same simulated GPUs
// with fitbench's Ollama settings, loads the model with its options (num_ctx,
// num_gpu), then without num_gpu. A plan with num_gpu 0 is analysed with the
// flash attention of a CPU: Ollama's scheduler then gives the runner no GPU.
func CompareOllama(ctx context.Context, bin, lib, scratch string, m OllamaModel, label string, in estimate.Input, set OllamaSetting) (*OllamaComparison, error) {
	r := estimate.Analyze(in)
	if r.GPULayers == 0 && in.FlashAttention != nil {
		// Ollama's own choice (no num_gpu) is still made with the GPUs and
		// their flash attention: keep that prediction
		own := r.OllamaFit
		zero := 0
		in.FlashAttention, in.GPULayers = nil, &zero
		r = estimate.Analyze(in)
		if own != nil && r.OllamaFit != nil {
			f := *own
			f.PlanVRAMBytes = r.OllamaFit.PlanVRAMBytes
			r.OllamaFit = &f
		}
	}
	c := &OllamaComparison{Label: label, In: in, Report: r}
	env, hidden := OllamaEnv(r, set)
	if r.Parallel > 1 && !slices.Contains(env, fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", r.Parallel)) {
		return nil, fmt.Errorf("%s: fitbench's Ollama command lacks OLLAMA_NUM_PARALLEL=%d: %v", label, r.Parallel, r.Command.OllamaEnv)
	}
	sims := SimGPUsOllama(in.Target.GPUs)
	if hidden {
		// CUDA_VISIBLE_DEVICES=-1 hides a CUDA GPU, not the simulated one:
		// on the rig, hiding is starting without the device
		sims = nil
	}
	srv, err := startImported(ctx, bin, lib, filepath.Join(scratch, "plan"), sims, env, m.Path)
	if err != nil {
		return nil, err
	}
	defer func() { srv.Stop() }()
	srv.NGPU = len(in.Target.GPUs)
	load := func(opts map[string]int) (*OllamaLoad, error) {
		lctx, cancel := context.WithTimeout(ctx, 90*time.Second) // a hung scheduler fails here
		defer cancel()
		l, err := srv.Load(lctx, "m", opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		return l, nil
	}
	if c.Plan, err = load(r.Command.OllamaOptions); err != nil {
		return nil, err
	}
	if set.CUDA && len(sims) > 0 && !strings.Contains(c.Plan.Log, "library=CUDA") {
		return nil, fmt.Errorf("%s: Ollama did not see the simulated GPUs as CUDA: %s predates FITBENCH_SIMGPU_LIBRARY, rebuild it with scripts/build-simgpu.sh", label, lib)
	}
	if hidden { // Ollama's own choice is made with the GPUs visible
		srv.Stop()
		if srv, err = startImported(ctx, bin, lib, filepath.Join(scratch, "own"), SimGPUsOllama(in.Target.GPUs), env, m.Path); err != nil {
			return nil, err
		}
	}
	if c.Own, err = load(map[string]int{"num_ctx": r.Command.OllamaOptions["num_ctx"]}); err != nil {
		return nil, err
	}
	return c, nil
}
