package synth

import (
	"fmt"

	"github.com/fitbench/fitbench/internal/gguf"
)

// tensorDef is one tensor of the model; norms are F32 and filled with 1.0,
// biases F32 zeros, constants F32 val, everything else random in its type.
type tensorDef struct {
	gguf.TensorSpec
	kind  int // kindWeight, kindNorm, kindBias, kindConst
	layer int // -1 for token_embd, -2 for output tensors
	val   float32
}

const (
	kindWeight = iota
	kindNorm
	kindBias
	kindConst
)

// builder collects the tensors of one model.
type builder struct {
	s  Spec
	ts []tensorDef
}

// typed picks the weight type for a matrix whose rows are n wide: quantized
// types need whole blocks, so a row that does not divide falls back to F16 (as
// llama-quantize falls back for such tensors).
func typed(t gguf.GGMLType, n uint64) gguf.GGMLType {
	bs, _, _ := gguf.TypeTraits(t)
	if bs > 1 && n%bs != 0 {
		return gguf.TypeF16
	}
	return t
}

func (b *builder) w(layer int, name string, dims ...uint64) {
	b.wt(layer, name, b.s.WeightType, dims...)
}

func (b *builder) wt(layer int, name string, t gguf.GGMLType, dims ...uint64) {
	b.ts = append(b.ts, tensorDef{gguf.TensorSpec{Name: name, Dims: dims, Type: typed(t, dims[0])}, kindWeight, layer, 0})
}

func (b *builder) f32(layer int, name string, kind int, val float32, dims ...uint64) {
	b.ts = append(b.ts, tensorDef{gguf.TensorSpec{Name: name, Dims: dims, Type: gguf.TypeF32}, kind, layer, val})
}

func (b *builder) norm(layer int, name string, n uint64) { b.f32(layer, name, kindNorm, 1, n) }
func (b *builder) bias(layer int, name string, dims ...uint64) {
	b.f32(layer, name, kindBias, 0, dims...)
}

func (s Spec) tensors() []tensorDef {
	b := &builder{s: s}
	e, v := uint64(s.Embd), uint64(s.Vocab)
	b.w(-1, "token_embd.weight", e, v)
	for i := 0; i < s.Layers; i++ {
		b.layer(i, fmt.Sprintf("blk.%d.", i))
	}
	outNorm := "output_norm.weight"
	if s.Arch == "lfm2" {
		outNorm = "token_embd_norm.weight" // LLM_TENSOR_OUTPUT_NORM of lfm2 (llama-arch.cpp)
	}
	b.norm(-2, outNorm, e)
	// gemma2 has no output.weight at all (llama.cpp duplicates token_embd).
	if !s.TiedOutput && s.Arch != "gemma2" {
		b.w(-2, "output.weight", e, v)
	}
	return b.ts
}

// layer adds the tensors of block i.
func (b *builder) layer(i int, p string) {
	s := b.s
	e, ff, hd := uint64(s.Embd), uint64(s.FF), uint64(s.HeadDim)
	q, kv := hd*uint64(s.Heads), hd*uint64(s.KVHeads)
	b.norm(i, p+"attn_norm.weight", e)
	switch s.Arch {
	case "phi3":
		// Fused QKV and gate+up (llama-model.cpp LLM_ARCH_PHI3).
		b.w(i, p+"attn_qkv.weight", e, e+2*kv)
		b.w(i, p+"attn_output.weight", e, e)
		b.norm(i, p+"ffn_norm.weight", e)
		b.w(i, p+"ffn_up.weight", e, 2*ff)
		b.w(i, p+"ffn_down.weight", ff, e)
		return
	case "deepseek2":
		b.mla(i, p)
	case "lfm2":
		if !s.isAttn(i) {
			// Short-conv operator (llama-model.cpp LLM_ARCH_LFM2; Ollama lfm2/shortconv.go).
			b.f32(i, p+"shortconv.conv.weight", kindWeight, 0, uint64(s.ConvCache), e)
			b.w(i, p+"shortconv.in_proj.weight", e, 3*e)
			b.w(i, p+"shortconv.out_proj.weight", e, e)
		} else {
			b.attention(i, p, q, kv, true)
		}
	case "granitehybrid":
		if !s.isAttn(i) {
			b.mamba2(i, p)
		} else {
			b.attention(i, p, q, kv, false)
		}
	case "nemotron_h":
		// One mixer per layer and no FFN norm (Ollama nemotronh/model.go Layer;
		// llama-model.cpp LLM_ARCH_NEMOTRON_H): Mamba-2, attention or a
		// ReLU² FFN (up, down).
		switch s.LayerPattern[i] {
		case 'M':
			b.mamba2(i, p)
		case '*':
			b.attention(i, p, q, kv, false)
		default:
			b.w(i, p+"ffn_up.weight", e, ff)
			b.w(i, p+"ffn_down.weight", ff, e)
		}
		return
	default:
		b.attention(i, p, q, kv, s.Arch == "qwen3" || s.Arch == "qwen3moe" || s.Arch == "gemma3")
	}
	if s.Arch == "gemma2" || s.Arch == "gemma3" {
		b.norm(i, p+"post_attention_norm.weight", e)
	}
	if s.gptOSS() {
		b.norm(i, p+"post_attention_norm.weight", e) // gpt-oss's FFN norm (Ollama alt of ffn_norm)
	} else {
		b.norm(i, p+"ffn_norm.weight", e)
	}
	switch {
	case s.gptOSS():
		b.experts(i, p, true)
	case s.Arch == "qwen3moe", s.Arch == "granitehybrid" && s.Experts > 0:
		b.experts(i, p, false)
		if s.SharedFF > 0 {
			sh := uint64(s.SharedFF)
			b.w(i, p+"ffn_gate_shexp.weight", e, sh)
			b.w(i, p+"ffn_up_shexp.weight", e, sh)
			b.w(i, p+"ffn_down_shexp.weight", sh, e)
		}
	case s.Arch == "deepseek2" && i >= s.LeadingDense:
		b.experts(i, p, false)
		if s.QLoRARank > 0 { // V3: sigmoid routing with a selection bias
			b.bias(i, p+"exp_probs_b.bias", uint64(s.Experts))
		}
		sh := uint64(s.SharedExperts * s.ExpertFF)
		b.w(i, p+"ffn_gate_shexp.weight", e, sh)
		b.w(i, p+"ffn_up_shexp.weight", e, sh)
		b.w(i, p+"ffn_down_shexp.weight", sh, e)
	default:
		b.w(i, p+"ffn_gate.weight", e, ff)
		b.w(i, p+"ffn_up.weight", e, ff)
		b.w(i, p+"ffn_down.weight", ff, e)
	}
	if s.Arch == "gemma2" || s.Arch == "gemma3" {
		b.norm(i, p+"post_ffw_norm.weight", e)
	}
}

func (b *builder) attention(i int, p string, q, kv uint64, qkNorm bool) {
	s := b.s
	e, hd := uint64(s.Embd), uint64(s.HeadDim)
	b.w(i, p+"attn_q.weight", e, q)
	b.w(i, p+"attn_k.weight", e, kv)
	b.w(i, p+"attn_v.weight", e, kv)
	if s.Arch == "qwen2" || s.gptOSS() {
		b.bias(i, p+"attn_q.bias", q)
		b.bias(i, p+"attn_k.bias", kv)
		b.bias(i, p+"attn_v.bias", kv)
	}
	if qkNorm {
		b.norm(i, p+"attn_q_norm.weight", hd)
		b.norm(i, p+"attn_k_norm.weight", hd)
	}
	b.w(i, p+"attn_output.weight", q, e)
	if s.gptOSS() {
		b.bias(i, p+"attn_output.bias", e)
		// One learned sink logit per head (Ollama gptoss attn_sinks; llama.cpp
		// LLM_TENSOR_ATTN_SINKS).
		b.f32(i, p+"attn_sinks.weight", kindWeight, 0, uint64(s.Heads))
	}
}

// experts adds the router and the stacked expert tensors; withBias adds
// gpt-oss's per-expert biases.
func (b *builder) experts(i int, p string, withBias bool) {
	s := b.s
	e, x, n := uint64(s.Embd), uint64(s.ExpertFF), uint64(s.Experts)
	b.f32(i, p+"ffn_gate_inp.weight", kindWeight, 0, e, n)
	if withBias {
		b.bias(i, p+"ffn_gate_inp.bias", n)
	}
	b.wt(i, p+"ffn_gate_exps.weight", s.ExpertType, e, x, n)
	b.wt(i, p+"ffn_up_exps.weight", s.ExpertType, e, x, n)
	b.wt(i, p+"ffn_down_exps.weight", s.ExpertType, x, e, n)
	if withBias {
		b.bias(i, p+"ffn_gate_exps.bias", x, n)
		b.bias(i, p+"ffn_up_exps.bias", x, n)
		b.bias(i, p+"ffn_down_exps.bias", e, n)
	}
}

// mla adds DeepSeek's multi-head latent attention in the split form current
// converters write (attn_k_b / attn_v_b; llama-model.cpp LLM_ARCH_DEEPSEEK2).
func (b *builder) mla(i int, p string) {
	s := b.s
	e, h := uint64(s.Embd), uint64(s.Heads)
	qk, rope, vd := uint64(s.HeadDim), uint64(s.RopeDim), uint64(s.VHeadDim)
	kvr := uint64(s.KVLoRARank)
	if s.QLoRARank > 0 {
		qr := uint64(s.QLoRARank)
		b.norm(i, p+"attn_q_a_norm.weight", qr)
		b.w(i, p+"attn_q_a.weight", e, qr)
		b.w(i, p+"attn_q_b.weight", qr, h*qk)
	} else {
		b.w(i, p+"attn_q.weight", e, h*qk)
	}
	b.norm(i, p+"attn_kv_a_norm.weight", kvr)
	b.w(i, p+"attn_kv_a_mqa.weight", e, kvr+rope)
	b.w(i, p+"attn_k_b.weight", qk-rope, kvr, h)
	b.w(i, p+"attn_v_b.weight", kvr, vd, h)
	b.w(i, p+"attn_output.weight", h*vd, e)
}

// mamba2 adds one Mamba-2 mixer (llama-model.cpp LLM_ARCH_GRANITE_HYBRID):
// A is −1 and D 1 so the random model stays finite.
func (b *builder) mamba2(i int, p string) {
	s := b.s
	e := uint64(s.Embd)
	inner, st, g, nh := uint64(s.SSMInner), uint64(s.SSMState), uint64(s.SSMGroups), uint64(s.SSMHeads)
	conv := inner + 2*g*st
	b.w(i, p+"ssm_in.weight", e, 2*inner+2*g*st+nh)
	b.f32(i, p+"ssm_conv1d.weight", kindWeight, 0, uint64(s.SSMConv), conv)
	b.bias(i, p+"ssm_conv1d.bias", conv)
	b.bias(i, p+"ssm_dt.bias", nh)
	b.f32(i, p+"ssm_a", kindConst, -1, 1, nh)
	b.f32(i, p+"ssm_d", kindConst, 1, 1, nh)
	b.norm(i, p+"ssm_norm.weight", inner/g)
	b.ts[len(b.ts)-1].Dims = []uint64{inner / g, g}
	b.w(i, p+"ssm_out.weight", inner, e)
}

// fileType is general.file_type: MXFP4_MOE when the experts are MXFP4.
func (s Spec) fileType() uint32 {
	if s.ExpertType == gguf.TypeMXFP4 && s.Experts > 0 {
		return 38
	}
	return uint32(gguf.FileTypeFor(s.WeightType))
}
