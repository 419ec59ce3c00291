package synth

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
)

func TestF16(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {6e-8, 0x0001}, {0.1, 0x2e66}, {float32(math.Inf(-1)), 0xfc00}} {
		if got := f16(c.f); got != c.h {
			t.Errorf("f16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		x := float32(rng.NormFloat64())
		if back := f16to32(f16(x)); math.Abs(float64(back-x)) > math.Abs(float64(x))/1024+1e-7 {
			t.Fatalf("%g → %g", x, back)
		}
	}
}

func randRow(n int) []float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.02)
	}
	return x
}

// Decoding our blocks as ggml does (dequantize_row_q8_0 / _q4_0) gives the input
// back within the format's step size.
func TestQuantBlocksDecode(t *testing.T) {
	x := randRow(256)
	q8 := encodeQ8_0(nil, x)
	if len(q8) != 8*34 {
		t.Fatalf("q8_0 %d bytes", len(q8))
	}
	q4 := encodeQ4_0(nil, x)
	if len(q4) != 8*18 {
		t.Fatalf("q4_0 %d bytes", len(q4))
	}
	for b := 0; b < 8; b++ {
		d8 := f16to32(binary.LittleEndian.Uint16(q8[b*34:]))
		d4 := f16to32(binary.LittleEndian.Uint16(q4[b*18:]))
		for j := 0; j < 32; j++ {
			v := x[b*32+j]
			got8 := float32(int8(q8[b*34+2+j])) * d8
			if math.Abs(float64(got8-v)) > float64(abs(d8))*0.51 {
				t.Fatalf("q8_0 block %d elem %d: %g vs %g (d %g)", b, j, got8, v, d8)
			}
			nib := q4[b*18+2+j%16]
			if j >= 16 {
				nib >>= 4
			}
			got4 := float32(int(nib&15)-8) * d4
			if math.Abs(float64(got4-v)) > float64(abs(d4))*0.51+1e-6 {
				t.Fatalf("q4_0 block %d elem %d: %g vs %g (d %g)", b, j, got4, v, d4)
			}
		}
	}
}

func abs(f float32) float32 { return float32(math.Abs(float64(f))) }

func TestDeterministicAndTokenizer(t *testing.T) {
	spec := Spec{Vocab: 300, WeightType: gguf.TypeQ8_0, Seed: 7}
	a, err := Write(t.TempDir(), "a", spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Write(t.TempDir(), "a", spec)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a[0])
	db, _ := os.ReadFile(b[0])
	if string(da) != string(db) {
		t.Fatal("same seed, different files")
	}
	f, err := gguf.ReadFile(a[0])
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := f.Get("tokenizer.ggml.tokens")
	types, _ := f.Get("tokenizer.ggml.token_type")
	if toks.Len != 300 || toks.Items[3].String() != `"<0x00>"` || toks.Items[258].String() != `"<0xFF>"` {
		t.Fatalf("tokens %v", toks)
	}
	if ty, _ := types.Items[100].Int(); ty != 6 {
		t.Fatalf("byte token type %d", ty)
	}
	seen := map[string]bool{}
	for _, it := range toks.Items {
		s, _ := it.Text()
		if seen[s] {
			t.Fatalf("token %q twice", s)
		}
		seen[s] = true
	}
	for _, ti := range f.Tensors {
		if len(ti.Dims) == 1 && ti.Type != gguf.TypeF32 {
			t.Fatalf("%s is %s; norms must be F32", ti.Name, ti.Type)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, s := range []Spec{{Arch: "mamba"}, {Arch: "deepseek2", Layers: 5, KVLoRARank: 32, RopeDim: 16, VHeadDim: 32, HeadDim: 48, Experts: 8, ExpertsUsed: 2, ExpertFF: 32}, {Embd: 48, WeightType: gguf.TypeQ4_0}, {Heads: 3, KVHeads: 2, Embd: 96},
		{Vocab: 100}, {WeightType: gguf.TypeQ4_K}, {Shards: 9}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
		if _, err := Write(t.TempDir(), "x", s); err == nil {
			t.Errorf("%+v written", s)
		}
	}
}
