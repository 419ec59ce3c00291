package gguf

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNamesMissingKey(t *testing.T) {
	ok := Summary{Architecture: "llama", BlockCount: 2, EmbeddingLength: 64, TensorBytes: 10, LayerBytes: []uint64{5, 5}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid summary refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Summary)
		want string
		is   error
	}{
		{"no architecture", func(s *Summary) { s.Architecture = "" }, "general.architecture", ErrIncomplete},
		{"no block_count", func(s *Summary) { s.BlockCount = 0 }, "llama.block_count", ErrIncomplete},
		{"huge block_count", func(s *Summary) { s.BlockCount = 1 << 20 }, "llama.block_count", ErrTooLarge},
		{"no width", func(s *Summary) { s.EmbeddingLength = 0 }, "llama.embedding_length", ErrIncomplete},
		{"no tensors", func(s *Summary) { s.TensorBytes = 0 }, "no tensor data", ErrIncomplete},
	}
	for _, c := range cases {
		s := ok
		c.mod(&s)
		err := s.Validate()
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || !IsFormatError(err) {
			t.Errorf("%s: %v; want %v naming %q", c.name, err, c.is, c.want)
		}
	}
}
