// Package synth generates small but real GGUF models — valid weights in real
// block encodings and a working byte-level SentencePiece tokenizer — that
// llama.cpp and Ollama load and run. Tests use them as stand-ins for Hub models;
// header-only output gives 70B-sized files that take no disk space.
package synth

import (
	"fmt"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Spec describes a model. Zero fields take the defaults of Tiny.
type Spec struct {
	Arch       string        // "llama" (default) or "qwen2" (llama + q/k/v biases)
	Name       string        // general.name
	Layers     int           // block_count
	Embd       int           // embedding_length (multiple of 32 for quantized types)
	Heads      int           // attention.head_count
	KVHeads    int           // attention.head_count_kv (divides Heads)
	FF         int           // feed_forward_length (multiple of 32 for quantized types)
	Vocab      int           // ≥ 259: <unk> <s> </s>, 256 byte tokens, then fillers
	Ctx        int           // context_length
	WeightType gguf.GGMLType // F16 (the zero value means F16), Q8_0 or Q4_0; norms are always F32
	Seed       uint64        // weights are a pure function of Seed and tensor name
	Shards     int           // > 1 splits into gguf-split style shards
	HeaderOnly bool          // leave the data region as a sparse hole (full file size)
	TiedOutput bool          // no output.weight: the output matmul reuses token_embd
}

// Tiny is the default: a 2-layer model of about 0.1 M parameters that loads and
// generates in well under a second on a CPU.
var Tiny = Spec{Arch: "llama", Name: "fitbench-tiny", Layers: 2, Embd: 64, Heads: 4, KVHeads: 2,
	FF: 128, Vocab: 512, Ctx: 2048, WeightType: gguf.TypeF16, Seed: 1}

// Llama70B has Llama-3-70B's shapes; use it with HeaderOnly.
var Llama70B = Spec{Arch: "llama", Name: "fitbench-70b", Layers: 80, Embd: 8192, Heads: 64, KVHeads: 8,
	FF: 28672, Vocab: 128256, Ctx: 8192, WeightType: gguf.TypeQ4_0, Seed: 1}

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
	return s
}

// Validate reports a Spec llama.cpp would refuse or the encoders cannot write.
func (s Spec) Validate() error {
	s = s.withDefaults()
	switch {
	case s.Arch != "llama" && s.Arch != "qwen2":
		return fmt.Errorf("synth: architecture %q not supported (llama, qwen2)", s.Arch)
	case s.Layers < 1 || s.Embd < 1 || s.Heads < 1 || s.KVHeads < 1 || s.FF < 1 || s.Ctx < 1:
		return fmt.Errorf("synth: layers, embd, heads, kv heads, ff and ctx must be positive")
	case s.Embd%s.Heads != 0 || (s.Embd/s.Heads)%2 != 0:
		return fmt.Errorf("synth: embd %d must be a multiple of 2×heads (%d)", s.Embd, s.Heads)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("synth: heads %d must be a multiple of kv heads %d", s.Heads, s.KVHeads)
	case s.Vocab < 259:
		return fmt.Errorf("synth: vocab %d must hold at least the 3 special and 256 byte tokens", s.Vocab)
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
	return nil
}
