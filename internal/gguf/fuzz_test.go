package gguf_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// FuzzRead feeds the reader generated models, truncated and mutated. It must
// return a file or an error, never panic, and what it returns must be
// self-consistent. Crashers found are kept in testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	paths, err := synth.Write(f.TempDir(), "seed", synth.Spec{Layers: 1, Embd: 32, Heads: 2, KVHeads: 1, FF: 32, Vocab: 259, WeightType: gguf.TypeQ4_0})
	if err != nil {
		f.Fatal(err)
	}
	model, err := os.ReadFile(paths[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(model)
	for _, cut := range []int{3, 8, 24, 100, 1000, len(model) / 2, len(model) - 1} {
		f.Add(model[:cut])
	}
	for _, at := range []int{4, 9, 17, 40, 200, 3000, len(model) - 3000} {
		m := bytes.Clone(model)
		m[at] ^= 0xff
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []gguf.ReadOptions{{}, {MaxArrayElems: -1, HeaderOnly: true}} {
			gf, err := gguf.Read(bytes.NewReader(data), int64(len(data)), opts)
			if err != nil {
				continue
			}
			if gf.DataOffset > int64(len(data)) && len(gf.Tensors) > 0 && !opts.HeaderOnly {
				t.Fatalf("data offset %d past %d bytes", gf.DataOffset, len(data))
			}
			for _, ti := range gf.Tensors {
				if !opts.HeaderOnly && gf.DataOffset+int64(ti.Offset+ti.Bytes()) > int64(len(data)) {
					t.Fatalf("tensor %q past the end", ti.Name)
				}
			}
			if _, err := gf.Summary(); err != nil {
				_ = err // bad metadata may fail the summary; it must not panic
			}
			gguf.MergeSummaries([]*gguf.File{gf})
		}
	})
}
