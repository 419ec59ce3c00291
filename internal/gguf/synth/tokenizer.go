package synth

import (
	"fmt"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Token types of tokenizer.ggml.token_type (llama.cpp llama_token_type).
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokByte    = 6
)

// specials are the control tokens an architecture's vocabulary must hold:
// llama.cpp looks some of them up by text (phi3: "<|endoftext|>", see
// llama-vocab.cpp; a general.name containing "phi3" makes it required).
func (s Spec) specials() []string {
	switch s.Arch {
	case "phi3":
		return []string{"<|endoftext|>", "<|assistant|>", "<|end|>", "<|user|>", "<|system|>"}
	case "gemma2", "gemma3":
		return []string{"<start_of_turn>", "<end_of_turn>"}
	}
	return nil
}

func (s Spec) tokenizerKV() []gguf.KV {
	if s.Tokenizer == "bpe" {
		return bpeTokenizer(s.Vocab, s.Pre)
	}
	return spmTokenizer(s.Vocab, s.specials())
}

// spmTokenizer builds a SentencePiece-style vocabulary: <unk> <s> </s>, the 256
// byte tokens <0xXX> (type BYTE, so any text can be encoded), the extra control
// tokens, then filler pieces made of letters ("▁a", "b", "ab", …) with falling
// scores so merges prefer them.
func spmTokenizer(vocab int, extra []string) []gguf.KV {
	tokens := make([]string, 0, vocab)
	types := make([]int32, 0, vocab)
	scores := make([]float32, 0, vocab)
	add := func(t string, ty int32, sc float32) {
		tokens = append(tokens, t)
		types = append(types, ty)
		scores = append(scores, sc)
	}
	add("<unk>", tokUnknown, 0)
	add("<s>", tokControl, 0)
	add("</s>", tokControl, 0)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), tokByte, 0)
	}
	for _, t := range extra {
		if len(tokens) < vocab {
			add(t, tokControl, 0)
		}
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
		add(piece, tokNormal, -float32(len(tokens)))
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

// byteRunes is GPT-2's bytes_to_unicode: printable bytes map to themselves,
// the rest to U+0100 onwards, so every byte is one visible rune.
func byteRunes() [256]rune {
	var m [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// bpeTokenizer builds a GPT-2 byte-level BPE vocabulary: the 256 byte runes,
// then merged pieces over "Ġ" (space) and a–z, breadth first, each with its
// merge rule "left right" (both parts earlier tokens), then the control tokens
// <|endoftext|> (EOS), <|startoftext|> (BOS), <|im_start|>, <|im_end|> last.
func bpeTokenizer(vocab int, pre string) []gguf.KV {
	br := byteRunes()
	specials := []string{"<|endoftext|>", "<|startoftext|>", "<|im_start|>", "<|im_end|>"}
	n := vocab - len(specials)
	tokens := make([]string, 0, vocab)
	types := make([]int32, 0, vocab)
	for b := 0; b < 256; b++ {
		tokens = append(tokens, string(br[b]))
		types = append(types, tokNormal)
	}
	alphabet := []string{string(br[' '])}
	for c := 'a'; c <= 'z'; c++ {
		alphabet = append(alphabet, string(c))
	}
	var merges []string
	seen := map[string]bool{}
	for _, t := range tokens {
		seen[t] = true
	}
	frontier := alphabet
	for len(tokens) < n {
		var next []string
		for _, left := range frontier {
			for _, right := range alphabet[1:] {
				if len(tokens) >= n {
					break
				}
				t := left + right
				if seen[t] {
					continue
				}
				seen[t] = true
				tokens = append(tokens, t)
				types = append(types, tokNormal)
				merges = append(merges, left+" "+right)
				next = append(next, t)
			}
		}
		frontier = next
	}
	eos := len(tokens)
	for _, t := range specials {
		tokens = append(tokens, t)
		types = append(types, tokControl)
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String(pre)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.Strings(merges)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(uint32(eos + 1))},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(uint32(eos))},
		{Key: "tokenizer.ggml.padding_token_id", Value: gguf.Uint32(uint32(eos))},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(false)},
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
