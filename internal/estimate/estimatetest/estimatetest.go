// Package estimatetest holds what the engine test of internal/estimate and the
// estimate benchmark (tools/benchmarks/estimate) share: the matrix of generated
// models and engine settings, and the few Ollama calls that import a GGUF and
// load it. Keeping one matrix means the benchmark's accuracy table and the CI
// test check the same cases. It does I/O, so it lives outside package estimate.
package estimatetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// Models is the matrix of generated models: sizes from 0.5 to ~60 MB, GQA
// ratios 1, 2, 4 and 8, head sizes 32–128, F16/Q8_0/Q4_0 weights, tied and
// untied output, llama and qwen2 (q/k/v biases). Each loads in well under a
// second on a CPU so the whole matrix stays fast.
var Models = []synth.Spec{
	{Name: "m-f16", Layers: 4, Embd: 256, Heads: 8, KVHeads: 4, FF: 688, Vocab: 1000, Ctx: 8192, WeightType: gguf.TypeF16, Seed: 1},
	{Name: "m-q8", Layers: 2, Embd: 256, Heads: 8, KVHeads: 8, FF: 1376, Vocab: 2000, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 2},
	{Name: "m-q4", Layers: 3, Embd: 512, Heads: 8, KVHeads: 2, FF: 1024, Vocab: 4000, Ctx: 8192, WeightType: gguf.TypeQ4_0, Seed: 3},
	{Name: "m-f16-mha", Layers: 6, Embd: 384, Heads: 6, KVHeads: 6, FF: 1024, Vocab: 3000, Ctx: 8192, WeightType: gguf.TypeF16, Seed: 4},
	{Name: "m-q8-gqa8", Layers: 8, Embd: 512, Heads: 16, KVHeads: 2, FF: 1408, Vocab: 8000, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 5, TiedOutput: true},
	{Name: "m-q4-big", Layers: 8, Embd: 1024, Heads: 8, KVHeads: 2, FF: 2816, Vocab: 16000, Ctx: 8192, WeightType: gguf.TypeQ4_0, Seed: 6},
	{Name: "m-qwen2-f16", Arch: "qwen2", Layers: 4, Embd: 512, Heads: 4, KVHeads: 2, FF: 1536, Vocab: 6000, Ctx: 8192, WeightType: gguf.TypeF16, Seed: 7},
}

// MoEModels are the mixture-of-experts models of the offload rig (expert
// offload, --n-cpu-moe, llama_params_fit's MoE path), 9–60 MB each so a rig
// run stays under a second: qwen3moe (Qwen3-30B-A3B's 128 experts, 4 used, Q4_0
// experts under Q8_0 attention; one expert tensor is about half the compute
// graph, so its copy to the GPU when the experts are on the CPU shows in
// full), deepseek2 (MLA with q-LoRA, a leading dense block, a shared expert,
// the V3 selection bias) and granitehybrid (Mamba-2 layers with attention at 2
// and 5, MoE with a shared FFN in every layer, tied output) and gpt-oss under
// llama.cpp's architecture name "gpt-oss" (MXFP4 experts with biases, a
// router bias, attention sinks, a 128-token window on every other layer).
var MoEModels = []synth.Spec{
	{Name: "moe-qwen3", Arch: "qwen3moe", Layers: 4, Embd: 256, Heads: 4, KVHeads: 1, HeadDim: 64, FF: 512,
		Experts: 128, ExpertsUsed: 4, ExpertFF: 256, ExpertType: gguf.TypeQ4_0,
		Vocab: 4000, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 31},
	{Name: "moe-deepseek2", Arch: "deepseek2", Layers: 5, Embd: 256, Heads: 4, HeadDim: 48, RopeDim: 16, VHeadDim: 32,
		QLoRARank: 64, KVLoRARank: 32, FF: 640, Experts: 32, ExpertsUsed: 4, SharedExperts: 1, ExpertFF: 96, LeadingDense: 1,
		ExpertType: gguf.TypeQ4_0, Vocab: 4000, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 32},
	{Name: "moe-granite", Arch: "granitehybrid", Layers: 6, Embd: 256, Heads: 4, KVHeads: 1, HeadDim: 64, FF: 64,
		AttnLayers: []int{2, 5}, SSMState: 64, SSMConv: 4, SSMGroups: 1, SSMHeads: 8,
		Experts: 32, ExpertsUsed: 4, ExpertFF: 128, SharedFF: 256, ExpertType: gguf.TypeQ4_0,
		Vocab: 4000, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 33, TiedOutput: true},
	{Name: "moe-gptoss", Arch: "gpt-oss", Layers: 4, Embd: 256, Heads: 8, KVHeads: 1, HeadDim: 64, FF: 256,
		Experts: 32, ExpertsUsed: 4, ExpertFF: 256, ExpertType: gguf.TypeMXFP4, SlidingWindow: 128,
		Vocab: 4000, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 34},
}

// Group is one engine configuration (one `ollama serve` with Env) and the
// contexts loaded under it.
type Group struct {
	Env      []string
	Parallel int
	Cache    string // "" = f16
	Ctxs     []int
}

// Groups are the settings of the matrix: contexts 2048 and 8192, parallel 1
// and 4, a q8_0 KV cache (which needs flash attention).
var Groups = []Group{
	{nil, 1, "", []int{2048, 8192}},
	{[]string{"OLLAMA_NUM_PARALLEL=4"}, 4, "", []int{2048}},
	{[]string{"OLLAMA_KV_CACHE_TYPE=q8_0", "OLLAMA_FLASH_ATTENTION=1"}, 1, "q8_0", []int{2048}},
}

// PresetHeader writes the header (no tensor data) of the named synth preset
// into dir and returns its summary: what the estimator reads of a remote file.
func PresetHeader(dir, name string) (gguf.Summary, error) {
	spec, err := synth.Preset(name)
	if err != nil {
		return gguf.Summary{}, err
	}
	spec.HeaderOnly = true
	_, sums, err := WriteModels(dir, []synth.Spec{spec})
	if err != nil {
		return gguf.Summary{}, err
	}
	return sums[0], nil
}

// WriteModels writes every spec into dir and returns the paths and summaries.
func WriteModels(dir string, specs []synth.Spec) ([]string, []gguf.Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	paths := make([]string, len(specs))
	sums := make([]gguf.Summary, len(specs))
	for i, m := range specs {
		files, err := synth.Write(dir, m.Name, m)
		if err != nil {
			return nil, nil, fmt.Errorf("write %s: %w", m.Name, err)
		}
		f, err := gguf.ReadFile(files[0])
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", m.Name, err)
		}
		if sums[i], err = f.Summary(); err != nil {
			return nil, nil, fmt.Errorf("summary %s: %w", m.Name, err)
		}
		paths[i] = files[0]
	}
	return paths, sums, nil
}

// ImportModel uploads a GGUF as a blob and creates an Ollama model from it.
func ImportModel(ctx context.Context, base, name, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	h := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(h[:])
	if err := post(ctx, base+"/api/blobs/"+digest, bytes.NewReader(data), nil); err != nil {
		return fmt.Errorf("upload blob: %w", err)
	}
	body, _ := json.Marshal(map[string]any{"model": name, "files": map[string]string{filepath.Base(path): digest}, "stream": false})
	if err := post(ctx, base+"/api/create", bytes.NewReader(body), nil); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}

// GenResult is the part of /api/generate's answer the tests use (durations in ns).
type GenResult struct {
	PromptEvalCount int   `json:"prompt_eval_count"`
	EvalCount       int   `json:"eval_count"`
	EvalDuration    int64 `json:"eval_duration"`
}

// DecodeTokS is the engine-side decode speed: eval_count / eval_duration.
func (g GenResult) DecodeTokS() float64 {
	if g.EvalDuration <= 0 || g.EvalCount <= 1 {
		return 0
	}
	return float64(g.EvalCount) / (float64(g.EvalDuration) / 1e9)
}

// GenOptions are the /api/generate options the tests and benchmark vary.
type GenOptions struct {
	NumCtx, Predict int
	// Temperature 0 is fine for loads; speed runs use 1 with a fixed seed so the
	// random-weight model does not repeat one token (Ollama stops repeated output).
	Temperature float64
	Threads     int // num_thread; 0 = Ollama's default (physical cores)
}

// Generate runs one non-streamed generation, loading the model with num_ctx.
func Generate(ctx context.Context, base, name string, o GenOptions) (GenResult, error) {
	opts := map[string]any{"num_ctx": o.NumCtx, "num_predict": o.Predict, "temperature": o.Temperature, "seed": 1}
	if o.Threads > 0 {
		opts["num_thread"] = o.Threads
	}
	body, _ := json.Marshal(map[string]any{"model": name, "prompt": "hello", "stream": false, "options": opts})
	var out GenResult
	err := post(ctx, base+"/api/generate", bytes.NewReader(body), &out)
	return out, err
}

func post(ctx context.Context, url string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("decode %s: %w", url, err)
		}
	}
	return nil
}
