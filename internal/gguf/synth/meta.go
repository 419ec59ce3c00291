package synth

import (
	"github.com/fitbench/fitbench/internal/gguf"
)

// metadata is the model's KV list (without split.* keys): the keys the
// engines read for the architecture (llama-model.cpp load_hparams; Ollama's
// model/models/<arch> New).
func (s Spec) metadata() []gguf.KV {
	a := s.Arch
	u := func(k string, v int) gguf.KV { return gguf.KV{Key: a + "." + k, Value: gguf.Uint32(uint32(v))} }
	f := func(k string, v float32) gguf.KV { return gguf.KV{Key: a + "." + k, Value: gguf.Float32(v)} }
	str := func(k, v string) gguf.KV { return gguf.KV{Key: a + "." + k, Value: gguf.String(v)} }
	ff := s.FF
	if s.Arch == "granitehybrid" && s.Experts > 0 {
		ff = s.ExpertFF // llama.cpp sizes granite's expert tensors with n_ff
	}
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(a)},
		{Key: "general.name", Value: gguf.String(s.Name)},
		{Key: "general.file_type", Value: gguf.Uint32(s.fileType())},
		{Key: "general.quantization_version", Value: gguf.Uint32(2)},
		{Key: "general.alignment", Value: gguf.Uint32(32)},
		u("vocab_size", s.Vocab),
		u("context_length", s.Ctx),
		u("embedding_length", s.Embd),
		u("block_count", s.Layers),
		u("attention.head_count", s.Heads),
	}
	if s.Arch == "nemotron_h" {
		// Per-layer FFN width: only '-' layers have one; Ollama and llama.cpp
		// tell Mamba-2 layers by head_count_kv 0 and feed_forward_length 0.
		items := make([]gguf.Value, s.Layers)
		for i := range items {
			n := 0
			if s.LayerPattern[i] == '-' {
				n = s.FF
			}
			items[i] = gguf.Uint32(uint32(n))
		}
		kv = append(kv, gguf.KV{Key: a + ".feed_forward_length", Value: gguf.Array(gguf.ValUint32, items)})
	} else {
		kv = append(kv, u("feed_forward_length", ff))
	}
	if s.Arch == "lfm2" || s.Arch == "granitehybrid" || s.Arch == "nemotron_h" {
		// Per-layer KV heads, 0 on recurrent / short-conv layers (how the
		// converters mark them; llama-model.cpp recurrent_layer_arr).
		items := make([]gguf.Value, s.Layers)
		for i := range items {
			n := 0
			if s.isAttn(i) {
				n = s.KVHeads
			}
			items[i] = gguf.Uint32(uint32(n))
		}
		kv = append(kv, gguf.KV{Key: a + ".attention.head_count_kv", Value: gguf.Array(gguf.ValUint32, items)})
	} else if s.Arch == "deepseek2" {
		kv = append(kv, u("attention.head_count_kv", 1)) // MLA: one latent "head"
	} else {
		kv = append(kv, u("attention.head_count_kv", s.KVHeads))
	}
	rope := s.HeadDim
	if s.Arch == "deepseek2" {
		// The cache holds the compressed latent + the RoPE part; *_mla are the
		// per-head sizes after decompression (llama.cpp convert_hf_to_gguf).
		rope = s.RopeDim
		kv = append(kv,
			u("attention.key_length", s.KVLoRARank+s.RopeDim),
			u("attention.value_length", s.KVLoRARank),
			u("attention.key_length_mla", s.HeadDim),
			u("attention.value_length_mla", s.VHeadDim))
	} else {
		kv = append(kv, u("attention.key_length", s.HeadDim), u("attention.value_length", s.HeadDim))
	}
	eps := float32(1e-5)
	if s.Arch == "gemma2" || s.Arch == "gemma3" || s.Arch == "qwen3" || s.Arch == "qwen3moe" || s.Arch == "deepseek2" {
		eps = 1e-6
	}
	kv = append(kv, u("rope.dimension_count", rope), f("rope.freq_base", s.ropeBase()),
		f("attention.layer_norm_rms_epsilon", eps))
	if s.SlidingWindow > 0 {
		kv = append(kv, u("attention.sliding_window", s.SlidingWindow))
	}
	if s.Experts > 0 {
		kv = append(kv, u("expert_count", s.Experts), u("expert_used_count", s.ExpertsUsed))
		if s.Arch != "granitehybrid" {
			kv = append(kv, u("expert_feed_forward_length", s.ExpertFF))
		}
	}
	switch s.Arch {
	case "gemma2":
		kv = append(kv, f("attn_logit_softcapping", 50), f("final_logit_softcapping", 30))
	case "gptoss", "gpt-oss":
		kv = append(kv, str("rope.scaling.type", "yarn"), f("rope.scaling.factor", 32),
			u("rope.scaling.original_context_length", 4096))
	case "deepseek2":
		v3 := s.QLoRARank > 0
		gating, scale, mscale := 1, float32(1), float32(0.0707) // V2-Lite: softmax, mscale_all_dim 0.707
		if v3 {
			gating, scale, mscale = 2, 2.5, 0.1 // V3: sigmoid, routed_scaling_factor 2.5, mscale_all_dim 1
			kv = append(kv, u("attention.q_lora_rank", s.QLoRARank))
		}
		kv = append(kv,
			u("attention.kv_lora_rank", s.KVLoRARank),
			u("leading_dense_block_count", s.LeadingDense),
			u("expert_shared_count", s.SharedExperts),
			f("expert_weights_scale", scale),
			gguf.KV{Key: a + ".expert_weights_norm", Value: gguf.Bool(v3)},
			u("expert_gating_func", gating),
			str("rope.scaling.type", "yarn"), f("rope.scaling.factor", 40),
			u("rope.scaling.original_context_length", 4096),
			f("rope.scaling.yarn_log_multiplier", mscale))
	case "lfm2":
		kv = append(kv, u("shortconv.l_cache", s.ConvCache))
	case "nemotron_h":
		kv = append(kv,
			u("ssm.conv_kernel", s.SSMConv),
			u("ssm.inner_size", s.SSMInner),
			u("ssm.state_size", s.SSMState),
			u("ssm.time_step_rank", s.SSMHeads),
			u("ssm.group_count", s.SSMGroups))
	case "granitehybrid":
		kv = append(kv,
			u("ssm.conv_kernel", s.SSMConv),
			u("ssm.inner_size", s.SSMInner),
			u("ssm.state_size", s.SSMState),
			u("ssm.time_step_rank", s.SSMHeads),
			u("ssm.group_count", s.SSMGroups),
			// Granite 4's muP multipliers (config.json: embedding_multiplier 12,
			// logits_scaling 6, residual_multiplier 0.22, attention_multiplier 0.0078125).
			f("embedding_scale", 12), f("logit_scale", 6), f("residual_scale", 0.22), f("attention.scale", 0.0078125))
		if s.SharedFF > 0 {
			kv = append(kv, u("expert_shared_feed_forward_length", s.SharedFF))
		}
	}
	return append(kv, s.tokenizerKV()...)
}

// ropeBase is the architecture's usual rope.freq_base (from the real models'
// config.json rope_theta).
func (s Spec) ropeBase() float32 {
	switch s.Arch {
	case "qwen3", "qwen3moe", "gemma3", "lfm2":
		return 1e6
	case "gptoss", "gpt-oss":
		return 150000
	case "mistral3":
		return 1e9
	case "llama":
		if s.Tokenizer == "bpe" {
			return 500000 // Llama 3
		}
	}
	return 10000
}
