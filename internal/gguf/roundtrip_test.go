package gguf

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
)

func allKinds() []KV {
	nested := Array(ValArray, []Value{
		Array(ValInt32, []Value{Int32(-1), Int32(2)}),
		Array(ValInt32, nil),
		Array(ValInt32, []Value{Int32(7)}),
	})
	return []KV{
		{"u8", Uint8(200)}, {"i8", Int8(-100)}, {"u16", Uint16(60000)}, {"i16", Int16(-30000)},
		{"u32", Uint32(4e9)}, {"i32", Int32(-2e9)}, {"f32", Float32(1.5)}, {"b", Bool(true)},
		{"s", String("héllo\x00world")}, {"empty", String("")}, {"u64", Uint64(1 << 63)},
		{"i64", Int64(-1 << 62)}, {"f64", Float64(-2.25)},
		{"strs", Strings([]string{"a", "", "ccc"})}, {"nested", nested},
		{"bools", Bools([]bool{true, false})},
		{"general.alignment", Uint32(64)},
	}
}

// writeModel writes kv and tensors with random data and returns the file and the
// data of each tensor.
func writeModel(t testing.TB, kv []KV, specs []TensorSpec) ([]byte, [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kv, specs)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	datas := make([][]byte, len(specs))
	for i, s := range specs {
		d := make([]byte, s.Bytes())
		for j := range d {
			d[j] = byte(rng.Uint32())
		}
		datas[i] = d
		// Write in odd-sized pieces to exercise tensor boundaries.
		for len(d) > 0 {
			n := min(len(d), 7)
			if _, err := w.Write(d[:n]); err != nil {
				t.Fatal(err)
			}
			d = d[n:]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != w.TotalSize() {
		t.Fatalf("wrote %d bytes, TotalSize says %d", buf.Len(), w.TotalSize())
	}
	return buf.Bytes(), datas
}

func TestRoundTrip(t *testing.T) {
	kv := allKinds()
	var specs []TensorSpec
	for i, ty := range []GGMLType{TypeF32, TypeF16, TypeQ4_0, TypeQ8_0, TypeQ4_K, TypeQ6_K, TypeIQ4_XS, TypeBF16, TypeMXFP4, TypeTQ1_0, TypeI8} {
		bs, _, _ := TypeTraits(ty)
		specs = append(specs, TensorSpec{Name: fmt.Sprintf("t%d.%s", i, ty), Dims: []uint64{bs * 2, 3, 1, 2}[:1+i%4], Type: ty})
	}
	specs = append(specs, TensorSpec{Name: "empty", Dims: []uint64{0}, Type: TypeF32})
	data, datas := writeModel(t, kv, specs)
	f, err := Read(bytes.NewReader(data), int64(len(data)), ReadOptions{MaxArrayElems: -1})
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Fatalf("version %d alignment %d data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	if !reflect.DeepEqual(f.KV, kv) {
		t.Fatalf("KV differ:\n got %v\nwant %v", f.KV, kv)
	}
	if len(f.Tensors) != len(specs) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(specs))
	}
	for i, ti := range f.Tensors {
		s := specs[i]
		if ti.Name != s.Name || ti.Type != s.Type || !reflect.DeepEqual(ti.Dims, s.Dims) || ti.Bytes() != s.Bytes() {
			t.Fatalf("tensor %d: got %+v want %+v", i, ti, s)
		}
		got := make([]byte, ti.Bytes())
		if _, err := bytes.NewReader(data).ReadAt(got, f.DataOffset+int64(ti.Offset)); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got, datas[i]) {
			t.Fatalf("tensor %s data differs", ti.Name)
		}
	}
	// Writing what we read gives the same bytes.
	respecs := make([]TensorSpec, len(f.Tensors))
	for i, ti := range f.Tensors {
		respecs[i] = TensorSpec{Name: ti.Name, Dims: ti.Dims, Type: ti.Type}
	}
	var again bytes.Buffer
	w, err := NewWriter(&again, f.KV, respecs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range datas {
		w.Write(d)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), data) {
		t.Fatal("rewrite differs from the original")
	}
	if u, ok := f.GetUint("u16"); !ok || u != 60000 {
		t.Fatalf("GetUint = %d %v", u, ok)
	}
	if s, ok := f.GetString("s"); !ok || s != "héllo\x00world" {
		t.Fatalf("GetString = %q", s)
	}
	if xs, ok := f.GetInts("nested"); ok {
		t.Fatalf("nested arrays are not ints: %v", xs)
	}
}

func TestLargeArraysSkipped(t *testing.T) {
	toks := make([]string, 3000)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i)
	}
	kv := []KV{{"tokens", Strings(toks)}, {"after", Uint32(42)}, {"small", Int32s([]int32{1, 2, 3})}}
	data, _ := writeModel(t, kv, nil)
	f, err := Read(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := f.Get("tokens")
	if !v.Skipped() || v.Len != 3000 || v.Elem != ValString {
		t.Fatalf("tokens = %+v", v)
	}
	if u, _ := f.GetUint("after"); u != 42 {
		t.Fatalf("value after a skipped array = %d", u)
	}
	if xs, ok := f.GetInts("small"); !ok || len(xs) != 3 {
		t.Fatalf("small = %v", xs)
	}
	if _, err := NewWriter(io.Discard, f.KV, nil); err == nil {
		t.Fatal("writing a skipped array should fail")
	}
}

func TestV2(t *testing.T) {
	data, _ := writeModel(t, []KV{{"a", Uint32(1)}}, []TensorSpec{{Name: "x", Dims: []uint64{8}, Type: TypeF32}})
	data[4] = 2 // v2 has the same layout with 64-bit counts
	f, err := Read(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	if err != nil || f.Version != 2 {
		t.Fatalf("v2: %v", err)
	}
}
