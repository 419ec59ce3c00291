// Package synth generates small but real GGUF models — valid weights in real
// block encodings and a working tokenizer (byte-level SentencePiece or GPT-2
// style byte-level BPE) — that llama.cpp and Ollama load and run. Tests use them
// as stand-ins for Hub models; header-only output gives full-sized files (a 671B
// DeepSeek-V3 header) that take no disk space.
//
// Architectures: llama, qwen2, qwen3, qwen3moe, gemma2, gemma3, gptoss,
// deepseek2 (MLA, with or without q-LoRA), mistral3, phi3, lfm2 and
// granitehybrid (Mamba-2 + attention + MoE). Their tensor lists and keys follow
// what the engines require: llama.cpp's llama-model.cpp (load_hparams,
// load_tensors) for the llama.cpp runner and Ollama's model/models/<arch> for its
// own engine (v0.17.4). Presets (preset.go) hold real models' proportions.
package synth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Spec describes a model. Zero fields take the defaults of Tiny.
type Spec struct {
	Arch       string        // see Archs; default "llama"
	Name       string        // general.name
	Layers     int           // block_count
	Embd       int           // embedding_length (multiple of 32 for quantized types)
	Heads      int           // attention.head_count
	KVHeads    int           // attention.head_count_kv (divides Heads)
	FF         int           // feed_forward_length (multiple of 32 for quantized types)
	Vocab      int           // ≥ 259 (SPM: <unk> <s> </s> + 256 byte tokens) or ≥ 300 (BPE)
	Ctx        int           // context_length
	WeightType gguf.GGMLType // F16 (the zero value means F16), Q8_0 or Q4_0; norms are always F32
	Seed       uint64        // weights are a pure function of Seed and tensor name
	Shards     int           // > 1 splits into gguf-split style shards
	HeaderOnly bool          // leave the data region as a sparse hole (full file size)
	TiedOutput bool          // no output.weight: the output matmul reuses token_embd

	// HeadDim is attention.key_length = value_length; 0 = Embd/Heads. Qwen3,
	// Gemma and Mistral 3 use a head size that is not Embd/Heads.
	HeadDim int

	// Mixture of experts (qwen3moe, gptoss, deepseek2, granitehybrid).
	Experts       int           // expert_count
	ExpertsUsed   int           // expert_used_count
	ExpertFF      int           // expert_feed_forward_length (width of one expert)
	SharedExperts int           // deepseek2: expert_shared_count (shared FFN width = SharedExperts × ExpertFF)
	SharedFF      int           // granitehybrid: expert_shared_feed_forward_length
	LeadingDense  int           // deepseek2: leading_dense_block_count (dense FFN of width FF)
	ExpertType    gguf.GGMLType // type of the expert tensors; 0 = WeightType (gptoss: MXFP4)

	// SlidingWindow is attention.sliding_window (gemma2, gemma3, gptoss, phi3).
	SlidingWindow int

	// Multi-head latent attention (deepseek2). HeadDim is the q/k head size
	// (nope + rope); RopeDim its RoPE part; VHeadDim the value head size.
	QLoRARank  int // attention.q_lora_rank; 0 = no q-LoRA (V2-Lite style: attn_q)
	KVLoRARank int // attention.kv_lora_rank
	RopeDim    int // rope.dimension_count
	VHeadDim   int

	// Hybrid models (lfm2, granitehybrid): the layers that are attention; the
	// others are short-conv (lfm2) or Mamba-2 (granitehybrid) layers, marked by
	// head_count_kv 0 in the per-layer array as the converters write it.
	AttnLayers []int
	ConvCache  int // lfm2: shortconv.l_cache
	SSMState   int // ssm.state_size
	SSMConv    int // ssm.conv_kernel
	SSMGroups  int // ssm.group_count
	SSMHeads   int // ssm.time_step_rank (Mamba-2 heads)
	SSMInner   int // ssm.inner_size; 0 = 2×Embd (granitehybrid requires 2×Embd)
	// LayerPattern is nemotron_h's hybrid_override_pattern: one rune per layer,
	// 'M' Mamba-2, '*' attention, '-' FFN only (config.json).
	LayerPattern string

	// Tokenizer is "spm" (byte-level SentencePiece, tokenizer.ggml.model llama)
	// or "bpe" (GPT-2 byte-level BPE with merges); "" = the architecture's own.
	Tokenizer string
	Pre       string // tokenizer.ggml.pre for BPE; "" = the architecture's own
}

// Tiny is the default: a 2-layer model of about 0.1 M parameters that loads and
// generates in well under a second on a CPU.
var Tiny = Spec{Arch: "llama", Name: "fitbench-tiny", Layers: 2, Embd: 64, Heads: 4, KVHeads: 2,
	FF: 128, Vocab: 512, Ctx: 2048, WeightType: gguf.TypeF16, Seed: 1}

// Llama70B has Llama-3-70B's shapes; use it with HeaderOnly.
var Llama70B = Spec{Arch: "llama", Name: "fitbench-70b", Layers: 80, Embd: 8192, Heads: 64, KVHeads: 8,
	FF: 28672, Vocab: 128256, Ctx: 8192, WeightType: gguf.TypeQ4_0, Seed: 1}

// Archs lists the architectures Write can generate.
var Archs = []string{"llama", "qwen2", "qwen3", "qwen3moe", "gemma2", "gemma3", "gptoss", "gpt-oss",
	"deepseek2", "mistral3", "phi3", "lfm2", "granitehybrid", "nemotron_h"}

func (s Spec) withDefaults() Spec {
	d := Tiny
	if s.Arch == "" {
		s.Arch = d.Arch
	}
	if s.Name == "" {
		s.Name = d.Name
	}
	for _, p := range []struct {
		v   *int
		def int
	}{{&s.Layers, d.Layers}, {&s.Embd, d.Embd},
		{&s.Heads, d.Heads}, {&s.FF, d.FF}, {&s.Vocab, d.Vocab}, {&s.Ctx, d.Ctx}, {&s.Shards, 1}} {
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	if s.KVHeads == 0 {
		s.KVHeads = min(d.KVHeads, s.Heads)
	}
	if s.WeightType == gguf.TypeF32 { // the zero value: F32 weights are not offered
		s.WeightType = d.WeightType
	}
	if s.ExpertType == gguf.TypeF32 {
		s.ExpertType = s.WeightType
	}
	if s.HeadDim == 0 {
		s.HeadDim = s.Embd / s.Heads
	}
	if s.Tokenizer == "" {
		switch s.Arch {
		case "llama", "qwen2", "gemma2", "gemma3", "phi3":
			s.Tokenizer = "spm"
		default:
			s.Tokenizer = "bpe"
		}
	}
	if s.Tokenizer == "bpe" && s.Pre == "" {
		s.Pre = map[string]string{"nemotron_h": "default", "qwen3": "qwen2", "qwen3moe": "qwen2", "gptoss": "gpt-4o", "gpt-oss": "gpt-4o",
			"deepseek2": "deepseek-v3", "mistral3": "tekken", "lfm2": "lfm2", "granitehybrid": "refact",
			"llama": "llama-bpe", "qwen2": "qwen2"}[s.Arch]
		if s.Pre == "" {
			s.Pre = "default"
		}
	}
	if s.Arch == "lfm2" && s.ConvCache == 0 {
		s.ConvCache = 3
	}
	if s.Arch == "granitehybrid" || s.Arch == "nemotron_h" {
		s.SSMConv = max(s.SSMConv, 4)
		s.SSMGroups = max(s.SSMGroups, 1)
		if s.SSMInner == 0 {
			s.SSMInner = 2 * s.Embd
		}
	}

	return s
}

// AttentionLayer says whether layer i holds attention (and so a KV cache):
// always, except in hybrids, where the others are recurrent, short-conv or
// FFN-only layers.
func (s Spec) AttentionLayer(i int) bool {
	s = s.withDefaults()
	return s.isAttn(i)
}

func (s Spec) isAttn(i int) bool {
	switch s.Arch {
	case "lfm2", "granitehybrid":
		return slices.Contains(s.AttnLayers, i)
	case "nemotron_h":
		return i < len(s.LayerPattern) && s.LayerPattern[i] == '*'
	}
	return true
}

// Validate reports a Spec llama.cpp or Ollama would refuse or the encoders
// cannot write.
func (s Spec) Validate() error {
	s = s.withDefaults()
	switch {
	case !slices.Contains(Archs, s.Arch):
		return fmt.Errorf("synth: architecture %q not supported (%v)", s.Arch, Archs)
	case s.Layers < 1 || s.Embd < 1 || s.Heads < 1 || s.KVHeads < 1 || s.FF < 1 || s.Ctx < 1:
		return fmt.Errorf("synth: layers, embd, heads, kv heads, ff and ctx must be positive")
	case s.HeadDim < 2 || s.HeadDim%2 != 0:
		return fmt.Errorf("synth: head size %d (embd %d / heads %d) must be even", s.HeadDim, s.Embd, s.Heads)
	case s.Embd%s.Heads != 0 && s.HeadDim == s.Embd/s.Heads:
		return fmt.Errorf("synth: embd %d must be a multiple of heads (%d) or head dim set", s.Embd, s.Heads)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("synth: heads %d must be a multiple of kv heads %d", s.Heads, s.KVHeads)
	case s.Tokenizer != "spm" && s.Tokenizer != "bpe":
		return fmt.Errorf("synth: tokenizer %q (spm or bpe)", s.Tokenizer)
	case s.Vocab < 259 || (s.Tokenizer == "bpe" && s.Vocab < 300):
		return fmt.Errorf("synth: vocab %d must hold at least the special and 256 byte tokens", s.Vocab)
	case s.Shards < 1 || s.Shards > s.Layers+2:
		return fmt.Errorf("synth: shards %d must be between 1 and layers+2", s.Shards)
	}
	switch s.WeightType {
	case gguf.TypeF16:
	case gguf.TypeQ8_0, gguf.TypeQ4_0:
		if s.Embd%32 != 0 || s.FF%32 != 0 {
			return fmt.Errorf("synth: %s needs embd and ff to be multiples of 32", s.WeightType)
		}
	default:
		return fmt.Errorf("synth: weight type %s not supported (F16, Q8_0, Q4_0)", s.WeightType)
	}
	switch s.ExpertType {
	case gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeMXFP4:
	default:
		return fmt.Errorf("synth: expert type %s not supported (F16, Q8_0, Q4_0, MXFP4)", s.ExpertType)
	}
	return s.validateArch()
}

func (s Spec) validateArch() error {
	moe := func() error {
		if s.Experts < 1 || s.ExpertsUsed < 1 || s.ExpertsUsed > s.Experts || s.ExpertFF < 1 {
			return fmt.Errorf("synth: %s needs experts ≥ experts used ≥ 1 and an expert FF width", s.Arch)
		}
		return nil
	}
	switch s.Arch {
	case "qwen3moe", "gptoss", "gpt-oss":
		return moe()
	case "deepseek2":
		if s.KVLoRARank < 1 || s.RopeDim < 2 || s.RopeDim >= s.HeadDim || s.VHeadDim < 1 {
			return fmt.Errorf("synth: deepseek2 needs kv LoRA rank, rope dim < head dim and a value head dim")
		}
		// llama.cpp (llama-model.cpp, LLM_ARCH_DEEPSEEK2) reads q_lora_rank unless
		// the model has 26 or 27 layers ("lite"), and then never creates attn_q_a.
		if lite := s.Layers == 26 || s.Layers == 27; lite != (s.QLoRARank == 0) {
			return fmt.Errorf("synth: deepseek2 without q-LoRA must have 26 or 27 layers and with it any other count (llama.cpp's lite rule); got %d layers, q LoRA rank %d", s.Layers, s.QLoRARank)
		}
		if s.LeadingDense >= s.Layers {
			return fmt.Errorf("synth: deepseek2 needs at least one MoE layer")
		}
		return moe()
	case "lfm2", "granitehybrid":
		if len(s.AttnLayers) == 0 {
			return fmt.Errorf("synth: %s needs the list of attention layers", s.Arch)
		}
		for _, l := range s.AttnLayers {
			if l < 0 || l >= s.Layers {
				return fmt.Errorf("synth: attention layer %d out of range", l)
			}
		}
		if s.Arch == "granitehybrid" {
			if s.SSMState < 1 || s.SSMHeads < 1 || (2*s.Embd)%s.SSMHeads != 0 || (2*s.Embd)%s.SSMGroups != 0 {
				return fmt.Errorf("synth: granitehybrid needs ssm state size and heads dividing 2×embd")
			}
			if s.Experts > 0 {
				return moe()
			}
		}
	case "nemotron_h":
		if len(s.LayerPattern) != s.Layers || strings.Trim(s.LayerPattern, "M*-") != "" || !strings.Contains(s.LayerPattern, "M") {
			return fmt.Errorf("synth: nemotron_h needs a layer pattern of one M (Mamba-2), * (attention) or - (FFN) per layer")
		}
		if s.SSMState < 1 || s.SSMHeads < 1 || s.SSMInner%s.SSMHeads != 0 || s.SSMInner%s.SSMGroups != 0 {
			return fmt.Errorf("synth: nemotron_h needs ssm state size and heads dividing the inner size")
		}
	case "phi3":
		if s.HeadDim*s.Heads != s.Embd {
			return fmt.Errorf("synth: phi3 needs embd = heads × head dim (llama.cpp's attn_output is embd×embd)")
		}
	}
	return nil
}

// gptOSS: gpt-oss under either name — "gptoss" as Ollama's converter writes it
// (its own engine), "gpt-oss" as llama.cpp's convert_hf_to_gguf.py does
// (LLM_ARCH_OPENAI_MOE; llama.cpp does not know "gptoss"). Same tensors and
// keys under the architecture's prefix.
func (s Spec) gptOSS() bool { return s.Arch == "gptoss" || s.Arch == "gpt-oss" }
