package gguf

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
)

// countingReader records every ReadAt, the way a ranged-HTTP reader would
// issue one GET per call.
type countingReader struct {
	r     io.ReaderAt
	mu    sync.Mutex
	sizes []int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.sizes = append(c.sizes, len(p))
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

// A 150k-token tokenizer with merges makes a ~10 MB header; it must cost at most
// three reads, none of them small.
func TestHeaderReadsAreFewAndLarge(t *testing.T) {
	const n = 150_000
	toks := make([]string, n)
	merges := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("▁tok%06d", i)
		merges[i] = fmt.Sprintf("▁tok%06d ▁tok%06d", i, n-i)
		scores[i] = float32(-i)
		types[i] = 1
	}
	kv := []KV{
		{"general.architecture", String("llama")},
		{"tokenizer.ggml.tokens", Strings(toks)},
		{"tokenizer.ggml.merges", Strings(merges)},
		{"tokenizer.ggml.scores", Float32s(scores)},
		{"tokenizer.ggml.token_type", Int32s(types)},
		{"llama.block_count", Uint32(1)},
	}
	specs := []TensorSpec{{Name: "token_embd.weight", Dims: []uint64{64, n}, Type: TypeQ4_0}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kv, specs)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	header := buf.Bytes()
	t.Logf("header %d bytes (%.1f MB); file %d bytes", len(header), float64(len(header))/1e6, w.TotalSize())
	if len(header) < 9_000_000 {
		t.Fatalf("test header too small: %d", len(header))
	}
	// The reader sees a file of full size whose data region it never touches.
	cr := &countingReader{r: bytes.NewReader(append(header, make([]byte, w.TotalSize()-int64(len(header)))...))}
	f, err := Read(cr, w.TotalSize(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ReadAt sizes: %v", cr.sizes)
	if len(cr.sizes) > 3 {
		t.Fatalf("%d ReadAt calls, want ≤ 3: %v", len(cr.sizes), cr.sizes)
	}
	for _, s := range cr.sizes {
		if s < 1<<20 {
			t.Fatalf("a ReadAt of %d bytes: reads must be large", s)
		}
	}
	if v, _ := f.Get("tokenizer.ggml.tokens"); !v.Skipped() || v.Len != n {
		t.Fatalf("tokens = %v", v)
	}
	if int64(len(header)) != f.DataOffset {
		t.Fatalf("data offset %d, header %d", f.DataOffset, len(header))
	}
}
