package synth

import (
	"fmt"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf"
)

// NamedSpec is one preset: a Spec and where its proportions come from.
type NamedSpec struct {
	Name string
	Spec Spec
	// Source names the real model whose config.json the shapes follow, and how
	// they were scaled.
	Source string
	// Real presets carry the real model's dimensions and are meant to be written
	// with HeaderOnly (a sparse file of the full size); the others are small
	// random-weight models that load and run in seconds on a CPU.
	Real bool
}

// Presets are today's architectures as data. The small ones keep the real
// models' proportions — head size, GQA ratio, window and layer pattern, expert
// count and used experts, MLA ranks, which layers are attention — scaled down in
// width and depth; the Real ones are the published config.json values.
var Presets = []NamedSpec{
	{Name: "tiny", Spec: Tiny, Source: "2-layer llama for quick tests"},
	{Name: "70b", Spec: Llama70B, Source: "meta-llama/Meta-Llama-3-70B config.json (Q4_0 weights)", Real: true},

	// ---- small, loadable ----
	{Name: "llama-128k", Source: "Llama-3.2-1B (hidden 2048, 32 heads / 8 KV, head 64, ff 8192, vocab 128256, tied): width ÷8, vocabulary kept",
		Spec: Spec{Arch: "llama", Name: "fitbench-llama-128k", Layers: 4, Embd: 256, Heads: 4, KVHeads: 1, FF: 1024, Vocab: 128256,
			Ctx: 131072, WeightType: gguf.TypeQ8_0, Seed: 11, TiedOutput: true, Tokenizer: "bpe", Pre: "llama-bpe"}},
	{Name: "qwen3-tied", Source: "Qwen3-0.6B (hidden 1024, 16 heads / 8 KV, head 128, ff 3072, tied): width ÷4, head size kept",
		Spec: Spec{Arch: "qwen3", Name: "fitbench-qwen3-tied", Layers: 4, Embd: 256, Heads: 4, KVHeads: 2, HeadDim: 128, FF: 768,
			Vocab: 16384, Ctx: 40960, WeightType: gguf.TypeQ8_0, Seed: 12, TiedOutput: true}},
	{Name: "qwen3", Source: "Qwen3-8B (hidden 4096, 32 heads / 8 KV, head 128, ff 12288, untied): width ÷8, head size kept",
		Spec: Spec{Arch: "qwen3", Name: "fitbench-qwen3", Layers: 4, Embd: 512, Heads: 4, KVHeads: 1, HeadDim: 128, FF: 1536,
			Vocab: 16384, Ctx: 40960, WeightType: gguf.TypeQ8_0, Seed: 13}},
	{Name: "qwen3moe", Source: "Qwen3-30B-A3B (hidden 2048, 32 heads / 4 KV, head 128, 128 experts × 768, 8 used): width ÷8, experts kept",
		Spec: Spec{Arch: "qwen3moe", Name: "fitbench-qwen3moe", Layers: 4, Embd: 256, Heads: 8, KVHeads: 1, HeadDim: 128, FF: 768,
			Experts: 128, ExpertsUsed: 8, ExpertFF: 96, ExpertType: gguf.TypeQ4_0,
			Vocab: 16384, Ctx: 40960, WeightType: gguf.TypeQ8_0, Seed: 14}},
	{Name: "gemma2", Source: "Gemma-2-2B (hidden 2304, 8 heads / 4 KV, head 256, ff 9216, window 4096, every 2nd layer global, tied): width ÷9, head size and window kept",
		Spec: Spec{Arch: "gemma2", Name: "fitbench-gemma2", Layers: 4, Embd: 256, Heads: 2, KVHeads: 1, HeadDim: 256, FF: 1024,
			SlidingWindow: 4096, Vocab: 16384, Ctx: 8192, WeightType: gguf.TypeQ8_0, Seed: 15, TiedOutput: true}},
	{Name: "gemma3", Source: "Gemma-3-27B (hidden 5376, 32 heads / 16 KV, head 128, window 1024, 5 local : 1 global, tied): width ÷21, head size, window and pattern kept",
		Spec: Spec{Arch: "gemma3", Name: "fitbench-gemma3", Layers: 12, Embd: 256, Heads: 4, KVHeads: 2, HeadDim: 128, FF: 1024,
			SlidingWindow: 1024, Vocab: 16384, Ctx: 131072, WeightType: gguf.TypeQ8_0, Seed: 16, TiedOutput: true}},
	{Name: "gptoss", Source: "gpt-oss-20b (hidden 2880, 64 heads / 8 KV, head 64, 32 experts × 2880, 4 used, window 128 on every other layer, MXFP4 experts, attention sinks): width ÷11, experts, head size, window kept",
		Spec: Spec{Arch: "gptoss", Name: "fitbench-gptoss", Layers: 4, Embd: 256, Heads: 8, KVHeads: 1, HeadDim: 64, FF: 256,
			Experts: 32, ExpertsUsed: 4, ExpertFF: 256, ExpertType: gguf.TypeMXFP4, SlidingWindow: 128,
			Vocab: 16384, Ctx: 131072, WeightType: gguf.TypeQ8_0, Seed: 17}},
	{Name: "deepseek2-lite", Source: "DeepSeek-V2-Lite (27 layers, hidden 2048, 16 heads, no q-LoRA, kv LoRA 512, qk 128+64 rope, v 128, 64 experts × 1408, 6 used, 2 shared, 1 dense layer; tokenizer pre deepseek-llm, which Ollama's engine refuses): 27 layers kept (llama.cpp's lite rule), width ÷16",
		Spec: Spec{Arch: "deepseek2", Name: "fitbench-deepseek2-lite", Layers: 27, Embd: 128, Heads: 2, HeadDim: 48, RopeDim: 16, VHeadDim: 32,
			KVLoRARank: 32, FF: 704, Experts: 64, ExpertsUsed: 6, SharedExperts: 2, ExpertFF: 64, LeadingDense: 1,
			ExpertType: gguf.TypeQ4_0, Vocab: 8192, Ctx: 163840, WeightType: gguf.TypeQ8_0, Seed: 18, Pre: "deepseek-llm"}},
	{Name: "deepseek2-v3", Source: "DeepSeek-V3 (hidden 7168, 128 heads, q LoRA 1536, kv LoRA 512, qk 128+64 rope, v 128, 256 experts × 2048, 8 used, 1 shared, 3 dense layers, sigmoid routing; pre deepseek-v3): width ÷28, experts kept",
		Spec: Spec{Arch: "deepseek2", Name: "fitbench-deepseek2-v3", Layers: 5, Embd: 256, Heads: 4, HeadDim: 48, RopeDim: 16, VHeadDim: 32,
			QLoRARank: 64, KVLoRARank: 32, FF: 640, Experts: 256, ExpertsUsed: 8, SharedExperts: 1, ExpertFF: 32, LeadingDense: 1,
			ExpertType: gguf.TypeQ4_0, Vocab: 8192, Ctx: 163840, WeightType: gguf.TypeQ8_0, Seed: 19, Pre: "deepseek-v3"}},
	{Name: "mistral3", Source: "Mistral-Small-3.1-24B text (hidden 5120, 32 heads / 8 KV, head 128 so q = 4096 < hidden, ff 32768, rope 1e9): width ÷8, head size kept",
		Spec: Spec{Arch: "mistral3", Name: "fitbench-mistral3", Layers: 3, Embd: 640, Heads: 4, KVHeads: 1, HeadDim: 128, FF: 2560,
			Vocab: 8192, Ctx: 131072, WeightType: gguf.TypeQ8_0, Seed: 20}},
	{Name: "phi3", Source: "Phi-3-mini-4k (hidden 3072, 32 heads, MHA, head 96, ff 8192, fused qkv and gate_up, vocab 32064): width ÷8, head size and vocabulary kept",
		Spec: Spec{Arch: "phi3", Name: "fitbench-phi3-mini", Layers: 4, Embd: 384, Heads: 4, KVHeads: 4, FF: 1024,
			Vocab: 32064, Ctx: 4096, WeightType: gguf.TypeQ8_0, Seed: 21}},
	{Name: "lfm2", Source: "LFM2-1.2B (16 layers, attention at 2,5,8,10,12,14, the rest short-conv with L_cache 3; hidden 2048, 32 heads / 8 KV, ff 8192, tied): layers and pattern kept, width ÷8",
		Spec: Spec{Arch: "lfm2", Name: "fitbench-lfm2", Layers: 16, Embd: 256, Heads: 4, KVHeads: 1, FF: 1024, AttnLayers: []int{2, 5, 8, 10, 12, 14},
			ConvCache: 3, Vocab: 16384, Ctx: 128000, WeightType: gguf.TypeQ8_0, Seed: 22, TiedOutput: true}},
	{Name: "granitehybrid", Source: "Granite-4.0-H-Tiny (40 layers, 1 in 10 attention; hidden 1536, 12 heads / 4 KV, head 128; Mamba-2 48 heads, state 128, 1 group, conv 4; 64 experts × 512, 6 used, shared 1024; tied): 10 layers with 2 attention, width ÷4, experts ÷8",
		Spec: Spec{Arch: "granitehybrid", Name: "fitbench-granite-hybrid", Layers: 10, Embd: 384, Heads: 3, KVHeads: 1, HeadDim: 128, FF: 64,
			AttnLayers: []int{2, 7}, SSMState: 128, SSMConv: 4, SSMGroups: 1, SSMHeads: 12,
			Experts: 64, ExpertsUsed: 6, ExpertFF: 64, SharedFF: 128, ExpertType: gguf.TypeQ4_0,
			Vocab: 16384, Ctx: 131072, WeightType: gguf.TypeQ8_0, Seed: 23, TiedOutput: true}},
	{Name: "nemotron_h", Source: "NVIDIA-Nemotron-Nano-9B-v2 (hybrid_override_pattern M-M-M-MM-M-M-M*-…: Mamba-2, ReLU² FFN and attention layers; hidden 4480, 40 heads / 8 KV, head 128; Mamba-2 128 heads × 80, state 128, 8 groups, conv 4; ff 15680): 14 layers M-M-M*-M-M-M*-, width ÷17",
		Spec: Spec{Arch: "nemotron_h", Name: "fitbench-nemotron-h", Layers: 14, LayerPattern: "M-M-M*-M-M-M*-", Embd: 256, Heads: 5, KVHeads: 1, HeadDim: 64, FF: 896,
			SSMState: 128, SSMConv: 4, SSMGroups: 8, SSMHeads: 8, SSMInner: 512,
			Vocab: 16384, Ctx: 131072, WeightType: gguf.TypeQ8_0, Seed: 24}},

	// ---- real dimensions, header-only ----
	{Name: "gemma3-27b", Real: true, Source: "google/gemma-3-27b-it config.json text_config",
		Spec: Spec{Arch: "gemma3", Name: "gemma-3-27b", Layers: 62, Embd: 5376, Heads: 32, KVHeads: 16, HeadDim: 128, FF: 21504,
			SlidingWindow: 1024, Vocab: 262208, Ctx: 131072, WeightType: gguf.TypeQ4_0, Seed: 1, TiedOutput: true}},
	{Name: "qwen3-30b-a3b", Real: true, Source: "Qwen/Qwen3-30B-A3B config.json",
		Spec: Spec{Arch: "qwen3moe", Name: "Qwen3-30B-A3B", Layers: 48, Embd: 2048, Heads: 32, KVHeads: 4, HeadDim: 128, FF: 6144,
			Experts: 128, ExpertsUsed: 8, ExpertFF: 768, Vocab: 151936, Ctx: 40960, WeightType: gguf.TypeQ4_0, Seed: 1}},
	{Name: "gpt-oss-20b", Real: true, Source: "openai/gpt-oss-20b config.json (MXFP4 experts, other weights F16)",
		Spec: Spec{Arch: "gptoss", Name: "gpt-oss-20b", Layers: 24, Embd: 2880, Heads: 64, KVHeads: 8, HeadDim: 64, FF: 2880,
			Experts: 32, ExpertsUsed: 4, ExpertFF: 2880, ExpertType: gguf.TypeMXFP4, SlidingWindow: 128,
			Vocab: 201088, Ctx: 131072, WeightType: gguf.TypeF16, Seed: 1}},
	{Name: "deepseek-v3", Real: true, Source: "deepseek-ai/DeepSeek-V3 config.json",
		Spec: Spec{Arch: "deepseek2", Name: "DeepSeek-V3", Layers: 61, Embd: 7168, Heads: 128, HeadDim: 192, RopeDim: 64, VHeadDim: 128,
			QLoRARank: 1536, KVLoRARank: 512, FF: 18432, Experts: 256, ExpertsUsed: 8, SharedExperts: 1, ExpertFF: 2048, LeadingDense: 3,
			Vocab: 129280, Ctx: 163840, WeightType: gguf.TypeQ4_0, Seed: 1, Pre: "deepseek-v3"}},
	{Name: "granite-4.0-h-tiny", Real: true, Source: "ibm-granite/granite-4.0-h-tiny config.json",
		Spec: Spec{Arch: "granitehybrid", Name: "granite-4.0-h-tiny", Layers: 40, Embd: 1536, Heads: 12, KVHeads: 4, HeadDim: 128, FF: 512,
			AttnLayers: []int{5, 15, 25, 35}, SSMState: 128, SSMConv: 4, SSMGroups: 1, SSMHeads: 48,
			Experts: 64, ExpertsUsed: 6, ExpertFF: 512, SharedFF: 1024,
			Vocab: 100352, Ctx: 131072, WeightType: gguf.TypeQ4_0, Seed: 1, TiedOutput: true}},
}

// Preset returns the named preset's Spec (Real presets come with HeaderOnly set).
func Preset(name string) (Spec, error) {
	for _, p := range Presets {
		if p.Name == name {
			s := p.Spec
			s.HeaderOnly = s.HeaderOnly || p.Real
			s.AttnLayers = append([]int(nil), s.AttnLayers...)
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("synth: unknown preset %q (%s)", name, strings.Join(PresetNames(false), ", "))
}

// PresetNames lists the presets; small=true keeps only the loadable ones
// (not Real, not the 2-layer tiny).
func PresetNames(small bool) []string {
	var out []string
	for _, p := range Presets {
		if small && (p.Real || p.Name == "tiny") {
			continue
		}
		out = append(out, p.Name)
	}
	return out
}
