package estimate

import (
	"fmt"
	"strconv"
	"strings"
)

// ModelPlaceholder stands for the model's path in a Command until the caller
// (analyze, the CLI) knows where the file lives.
const ModelPlaceholder = "MODEL.gguf"

// Command is the invocation that realises a report's plan on each engine. The
// llama-server arguments are exactly what the offload rig (internal/rigtest)
// runs in its tests, so the plan and the command cannot drift apart.
type Command struct {
	// LlamaServer is llama-server's argv after the binary; LlamaServerLine the
	// same as one shell line.
	LlamaServer     []string `json:"llama_server"`
	LlamaServerLine string   `json:"llama_server_line"`
	// Ollama: the request options (num_gpu = layers on the GPU, num_ctx = the
	// per-sequence context) and the server's environment.
	OllamaOptions map[string]int `json:"ollama_options"`
	OllamaEnv     []string       `json:"ollama_env,omitempty"`
	OllamaLine    string         `json:"ollama_line"`
	// VLLM is `vllm serve` with its flags, for a vLLM report with a GPU.
	VLLMLine string `json:"vllm_line,omitempty"`
}

// LlamaServerArgs are the llama-server flags that load the model exactly as the
// report plans it: -ngl, the total context (-c is the sum over sequences; each
// of -np sequences gets c/np cells, llama_context's rule without a unified KV
// cache), flash attention stated explicitly, the cache types, the micro-batch,
// and on two or more GPUs -ts as the planned layer count per device (llama.cpp
// normalises -ts and assigns layer il to the first device whose cumulative share
// exceeds (il−start)/ngl, so integer layer counts reproduce the plan exactly,
// whatever free memory each device reports at start).
func LlamaServerArgs(r Report, in Input, model string) []string {
	if model == "" {
		model = ModelPlaceholder
	}
	par := max(r.Parallel, 1)
	a := []string{"-m", model, "-ngl", strconv.Itoa(r.GPULayers), "-c", strconv.Itoa(r.Context * par)}
	if par > 1 {
		a = append(a, "-np", strconv.Itoa(par))
	}
	if r.FlashAttention {
		a = append(a, "-fa", "on")
	} else {
		a = append(a, "-fa", "off")
	}
	if r.CacheType != "" && r.CacheType != "f16" {
		a = append(a, "-ctk", r.CacheType, "-ctv", r.CacheType)
	}
	if r.MoE != nil && r.MoE.Recommended {
		a = append(a, "--n-cpu-moe", strconv.Itoa(r.MoE.CPUMoELayers))
	}
	if in.NUbatch > 0 && in.NUbatch != 512 {
		a = append(a, "-ub", strconv.Itoa(in.NUbatch))
	}
	if gpusHidden(r, in) {
		a = append(a, "-dev", "none") // not even the compute buffer fits a GPU
	}
	gpus := len(in.Target.GPUs)
	if gpus >= 2 && r.GPULayers > 0 && len(r.Memory.Devices) > gpus {
		parts := make([]string, gpus)
		for i := 0; i < gpus; i++ {
			parts[i] = strconv.Itoa(r.Memory.Devices[i].Layers)
		}
		a = append(a, "-ts", strings.Join(parts, ","))
	}
	return a
}

// CommandFor builds every engine's invocation for a report.
func CommandFor(r Report, in Input, model string) Command {
	c := Command{LlamaServer: LlamaServerArgs(r, in, model)}
	c.LlamaServerLine = CommandLine("llama-server", c.LlamaServer)
	c.OllamaOptions = map[string]int{"num_ctx": r.Context, "num_gpu": r.GPULayers}
	if gpusHidden(r, in) {
		// Ollama's runner uses every visible GPU for compute even at num_gpu 0
		// (seen on the rig: out of memory on a GPU too small for it)
		c.OllamaEnv = append(c.OllamaEnv, "CUDA_VISIBLE_DEVICES=-1")
	}
	if r.Parallel > 1 {
		c.OllamaEnv = append(c.OllamaEnv, fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", r.Parallel))
	}
	if r.FlashAttention {
		c.OllamaEnv = append(c.OllamaEnv, "OLLAMA_FLASH_ATTENTION=1")
	}
	if r.CacheType != "" && r.CacheType != "f16" {
		c.OllamaEnv = append(c.OllamaEnv, "OLLAMA_KV_CACHE_TYPE="+r.CacheType)
	}
	env := strings.Join(c.OllamaEnv, " ")
	if env != "" {
		env += " "
	}
	c.OllamaLine = fmt.Sprintf(`%sollama serve  # then: ollama run MODEL with {"options":{"num_ctx":%d,"num_gpu":%d}} (or /set parameter num_ctx %d, num_gpu %d)`,
		env, r.Context, r.GPULayers, r.Context, r.GPULayers)
	if r.Engine == EngineVLLM && r.VLLM != nil && len(in.Target.GPUs) > 0 {
		v := []string{"vllm", "serve", "MODEL", "--max-model-len", strconv.Itoa(r.Context)}
		if n := len(in.Target.GPUs); n > 1 {
			v = append(v, "--tensor-parallel-size", strconv.Itoa(n))
		}
		if u := in.VLLM.GPUMemoryUtilization; u > 0 && u <= 1 {
			v = append(v, "--gpu-memory-utilization", strconv.FormatFloat(u, 'f', -1, 64))
		}
		if r.VLLM.CPUOffloadGB > 0 {
			v = append(v, "--cpu-offload-gb", strconv.FormatFloat(r.VLLM.CPUOffloadGB, 'f', 2, 64))
		}
		if in.VLLM.MaxNumSeqs > 0 {
			v = append(v, "--max-num-seqs", strconv.Itoa(in.VLLM.MaxNumSeqs))
		}
		c.VLLMLine = shellJoin(v)
	}
	return c
}

// shellJoin quotes the arguments that need it for a POSIX shell.
func shellJoin(a []string) string {
	out := make([]string, len(a))
	for i, s := range a {
		if s == "" || strings.ContainsAny(s, " \t\n'\"\\$`|&;<>()*?[]{}!#~") {
			out[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		} else {
			out[i] = s
		}
	}
	return strings.Join(out, " ")
}

// addOffloadPlans completes a llama.cpp-family report with the offload views:
// the MoE expert-offload plan (llama-server only; it becomes the plan when it fits and
// is faster), llama-server's own automatic fit with its defaults (only for
// engine llamacpp with a GPU), and the command lines of the final plan.
func addOffloadPlans(r *Report, in Input, p llamaPlan) {
	// the expert-offload plan needs llama-server's -ot / --n-cpu-moe: Ollama
	// v0.17.4 has no such option (api/types.go Runner: num_ctx, num_batch,
	// num_gpu, main_gpu, use_mmap, num_thread), it offloads whole layers
	if in.Engine == EngineLlamaCpp && len(in.Target.GPUs) > 0 {
		if m := planMoE(in, p, r.Performance.EstimatedThroughput); m != nil {
			r.MoE = m
			if m.Recommended {
				applyMoE(r, in, m)
			}
		}
	}
	if in.Engine == EngineLlamaCpp && len(in.Target.GPUs) > 0 {
		q := in
		q.Context = 0
		f := PredictLlamaFit(LlamaFitInput{In: q})
		r.LlamaServerFit = &f
		if f.Changed && f.Aborted == "" && (f.NGPULayers != r.GPULayers || f.NCtx != r.Context*r.Parallel) {
			r.Advice = append(r.Advice, fmt.Sprintf("llama-server without -ngl/-c fits by itself: context %d, -ngl %d (%s); the command below pins fitbench's plan instead",
				f.NCtx, f.NGPULayers, f.Note))
		}
	}
	if in.Engine == EngineOllama && len(in.Target.GPUs) > 0 {
		_, _, planVRAM, hang := ollamaLayout(in, r.GPULayers)
		if hang && r.GPULayers > 0 {
			r.Advice = append(r.Advice, fmt.Sprintf("Ollama v0.17.4's scheduler may never finish placing num_gpu %d on these GPUs (its layer search loops when the layers need 16× or more of a GPU's space): use a smaller num_gpu", r.GPULayers))
		}
		r.OllamaFit = predictOllamaFit(in)
		if r.OllamaFit != nil {
			r.OllamaFit.PlanVRAMBytes = planVRAM
		}
		if f := r.OllamaFit; f != nil && f.NumGPU != r.GPULayers {
			per := ""
			if len(f.GPULayers) > 1 {
				per = fmt.Sprintf(", %v per GPU", f.GPULayers)
			}
			r.Advice = append(r.Advice, fmt.Sprintf("Ollama without num_gpu offloads %d layers by itself (its own estimate, keeping %d MiB free per GPU%s); the command below sets num_gpu %d instead",
				f.NumGPU, OllamaMinimumFree>>20, per, r.GPULayers))
		}
	}
	if gpusHidden(*r, in) {
		r.Advice = append(r.Advice, "the GPU is too small even for llama.cpp's compute buffer (which a visible GPU gets at -ngl 0): run on the CPU with the GPU hidden (llama-server -dev none)")
	}
	c := CommandFor(*r, in, "")
	r.Command = &c
}

// applyMoE makes the expert-offload plan the report's plan.
func applyMoE(r *Report, in Input, m *MoEPlan) {
	n := in.Summary.BlockCount + 1
	r.GPULayers = n
	fillMemory(r, llamaPlan{ngl: n, devices: m.Devices}, in)
	r.FitsWithoutOffload = false
	r.Memory.CPUOffloadGB = gb(m.CPUExpertBytes)
	r.Verdict = verdict(*r)
	if m.LayerPlanThroughput > 0 {
		r.Performance.OffloadPenalty = 0
	}
	r.Performance.EstimatedThroughput = m.EstimatedThroughput
	r.Advice = append(r.Advice, "MoE: "+m.Explanation+fmt.Sprintf("; about %.1f tok/s vs %.1f with whole layers on the CPU", m.EstimatedThroughput, m.LayerPlanThroughput))
}

// CommandLine is bin and args as one POSIX shell line.
func CommandLine(bin string, args []string) string { return bin + " " + shellJoin(args) }

// ReplaceModel puts a model name where a command line says MODEL.
func ReplaceModel(line, model string) string {
	return strings.ReplaceAll(line, " MODEL", " "+shellJoin([]string{model}))
}
