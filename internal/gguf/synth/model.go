package synth

import (
	"fmt"

	"github.com/fitbench/fitbench/internal/gguf"
)

// tensorDef is one tensor of the model; norms are F32 and filled with 1.0,
// biases F32 zeros, everything else random in the weight type.
type tensorDef struct {
	gguf.TensorSpec
	kind  int // kindWeight, kindNorm, kindBias
	layer int // -1 for token_embd, -2 for output tensors
}

const (
	kindWeight = iota
	kindNorm
	kindBias
)

func (s Spec) tensors() []tensorDef {
	e, ff, v := uint64(s.Embd), uint64(s.FF), uint64(s.Vocab)
	hd := uint64(s.Embd / s.Heads)
	kv := hd * uint64(s.KVHeads)
	wt := s.WeightType
	mk := func(name string, kind, layer int, ty gguf.GGMLType, dims ...uint64) tensorDef {
		return tensorDef{gguf.TensorSpec{Name: name, Dims: dims, Type: ty}, kind, layer}
	}
	ts := []tensorDef{mk("token_embd.weight", kindWeight, -1, wt, e, v)}
	for i := 0; i < s.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			mk(p+"attn_norm.weight", kindNorm, i, gguf.TypeF32, e),
			mk(p+"attn_q.weight", kindWeight, i, wt, e, hd*uint64(s.Heads)),
			mk(p+"attn_k.weight", kindWeight, i, wt, e, kv),
			mk(p+"attn_v.weight", kindWeight, i, wt, e, kv))
		if s.Arch == "qwen2" {
			ts = append(ts,
				mk(p+"attn_q.bias", kindBias, i, gguf.TypeF32, hd*uint64(s.Heads)),
				mk(p+"attn_k.bias", kindBias, i, gguf.TypeF32, kv),
				mk(p+"attn_v.bias", kindBias, i, gguf.TypeF32, kv))
		}
		ts = append(ts,
			mk(p+"attn_output.weight", kindWeight, i, wt, hd*uint64(s.Heads), e),
			mk(p+"ffn_norm.weight", kindNorm, i, gguf.TypeF32, e),
			mk(p+"ffn_gate.weight", kindWeight, i, wt, e, ff),
			mk(p+"ffn_up.weight", kindWeight, i, wt, e, ff),
			mk(p+"ffn_down.weight", kindWeight, i, wt, ff, e))
	}
	ts = append(ts, mk("output_norm.weight", kindNorm, -2, gguf.TypeF32, e))
	if !s.TiedOutput {
		ts = append(ts, mk("output.weight", kindWeight, -2, wt, e, v))
	}
	return ts
}

// metadata is the model's KV list (without split.* keys).
func (s Spec) metadata() []gguf.KV {
	a := s.Arch
	hd := uint32(s.Embd / s.Heads)
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(a)},
		{Key: "general.name", Value: gguf.String(s.Name)},
		{Key: "general.file_type", Value: gguf.Uint32(uint32(gguf.FileTypeFor(s.WeightType)))},
		{Key: "general.quantization_version", Value: gguf.Uint32(2)},
		{Key: "general.alignment", Value: gguf.Uint32(32)},
		{Key: a + ".vocab_size", Value: gguf.Uint32(uint32(s.Vocab))},
		{Key: a + ".context_length", Value: gguf.Uint32(uint32(s.Ctx))},
		{Key: a + ".embedding_length", Value: gguf.Uint32(uint32(s.Embd))},
		{Key: a + ".block_count", Value: gguf.Uint32(uint32(s.Layers))},
		{Key: a + ".feed_forward_length", Value: gguf.Uint32(uint32(s.FF))},
		{Key: a + ".attention.head_count", Value: gguf.Uint32(uint32(s.Heads))},
		{Key: a + ".attention.head_count_kv", Value: gguf.Uint32(uint32(s.KVHeads))},
		{Key: a + ".attention.key_length", Value: gguf.Uint32(hd)},
		{Key: a + ".attention.value_length", Value: gguf.Uint32(hd)},
		{Key: a + ".rope.dimension_count", Value: gguf.Uint32(hd)},
		{Key: a + ".rope.freq_base", Value: gguf.Float32(10000)},
		{Key: a + ".attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
	}
	return append(kv, tokenizer(s.Vocab)...)
}

// tokenizer builds a SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte
// tokens <0xXX> (type BYTE, so any text can be encoded), then filler pieces made
// of letters ("▁a", "b", "ab", …) with falling scores so merges prefer them.
func tokenizer(vocab int) []gguf.KV {
	tokens := make([]string, 0, vocab)
	types := make([]int32, 0, vocab)
	scores := make([]float32, 0, vocab)
	add := func(t string, ty int32, sc float32) {
		tokens = append(tokens, t)
		types = append(types, ty)
		scores = append(scores, sc)
	}
	add("<unk>", 2, 0)
	add("<s>", 3, 0)
	add("</s>", 3, 0)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 6, 0)
	}
	seen := map[string]bool{}
	for i := 0; len(tokens) < vocab; i++ {
		piece := letters(i / 2)
		if i%2 == 0 {
			piece = "▁" + piece
		}
		if seen[piece] {
			continue
		}
		seen[piece] = true
		add(piece, 1, -float32(len(tokens)))
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Float32s(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32(0)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(true)},
		{Key: "tokenizer.ggml.add_eos_token", Value: gguf.Bool(false)},
	}
}

// letters maps 0→"a", 25→"z", 26→"aa", … (bijective base 26).
func letters(n int) string {
	var b []byte
	for n++; n > 0; n = (n - 1) / 26 {
		b = append([]byte{byte('a' + (n-1)%26)}, b...)
	}
	return string(b)
}
