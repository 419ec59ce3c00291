package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// raw assembles GGUF bytes by hand so tests can write what no honest writer would.
type raw struct{ bytes.Buffer }

func (r *raw) u32(v uint32) *raw { binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) u64(v uint64) *raw { binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }
func (r *raw) header(version uint32, nt, nkv uint64) *raw {
	r.WriteString("GGUF")
	return r.u32(version).u64(nt).u64(nkv)
}

// tensor writes a tensor info.
func (r *raw) tensor(name string, ty GGMLType, off uint64, dims ...uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(ty)).u64(off)
}

// withData pads to 32 and appends n zero bytes of tensor data.
func (r *raw) withData(n int) []byte {
	for r.Len()%32 != 0 {
		r.WriteByte(0)
	}
	r.Write(make([]byte, n))
	return r.Bytes()
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		data func() []byte
		want error
	}{
		{"empty", func() []byte { return nil }, ErrNotGGUF},
		{"zip magic", func() []byte { return []byte("PK\x03\x04 and then some more bytes") }, ErrNotGGUF},
		{"version 1", func() []byte { return new(raw).header(1, 0, 0).Bytes() }, ErrUnsupportedVersion},
		{"version 99", func() []byte { return new(raw).header(99, 0, 0).Bytes() }, ErrUnsupportedVersion},
		{"header cut", func() []byte { return new(raw).header(3, 0, 0).Bytes()[:12] }, ErrTruncated},
		{"tensor count 2^60", func() []byte { return new(raw).header(3, 1<<60, 0).withData(64) }, ErrTooLarge},
		{"kv count 2^62", func() []byte { return new(raw).header(3, 0, 1<<62).withData(64) }, ErrTooLarge},
		{"key length past EOF", func() []byte {
			r := new(raw).header(3, 0, 1)
			r.u64(1 << 40)
			r.WriteString("general.name")
			return r.Bytes()
		}, ErrTruncated},
		{"string value past EOF", func() []byte {
			r := new(raw).header(3, 0, 1).str("general.name").u32(uint32(ValString))
			r.u64(1000)
			r.WriteString("short")
			return r.Bytes()
		}, ErrTruncated},
		{"array of 2^50 elements", func() []byte {
			r := new(raw).header(3, 0, 1).str("tokenizer.ggml.scores").u32(uint32(ValArray))
			return r.u32(uint32(ValFloat32)).u64(1 << 50).withData(256)
		}, ErrTooLarge},
		{"array of 2^50 strings", func() []byte {
			r := new(raw).header(3, 0, 1).str("tokenizer.ggml.tokens").u32(uint32(ValArray))
			return r.u32(uint32(ValString)).u64(1 << 50).withData(256)
		}, ErrTooLarge},
		{"array nested too deep", func() []byte {
			r := new(raw).header(3, 0, 1).str("x").u32(uint32(ValArray))
			for i := 0; i < 20; i++ {
				r.u32(uint32(ValArray)).u64(1)
			}
			return r.withData(64)
		}, ErrTooLarge},
		{"unknown value type", func() []byte {
			return new(raw).header(3, 0, 1).str("x").u32(77).withData(64)
		}, ErrUnknownType},
		{"duplicate key", func() []byte {
			r := new(raw).header(3, 0, 2)
			r.str("a").u32(uint32(ValUint32)).u32(1)
			r.str("a").u32(uint32(ValUint32)).u32(2)
			return r.withData(0)
		}, ErrDuplicate},
		{"alignment not a power of two", func() []byte {
			return new(raw).header(3, 0, 1).str("general.alignment").u32(uint32(ValUint32)).u32(48).withData(0)
		}, ErrBadAlignment},
		{"5 dimensions", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", TypeF32, 0, 1, 1, 1, 1, 1).withData(64)
		}, ErrTooLarge},
		{"element count overflow", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", TypeF32, 0, 1<<40, 1<<40).withData(64)
		}, ErrTooLarge},
		{"negative dimension", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", TypeF32, 0, math.MaxUint64).withData(64)
		}, ErrBadShape},
		{"row not whole blocks", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", TypeQ4_0, 0, 33).withData(64)
		}, ErrBadShape},
		{"unknown tensor type", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", GGMLType(4), 0, 32).withData(64)
		}, ErrUnknownType},
		{"misaligned offset", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", TypeF32, 4, 8).withData(64)
		}, ErrBadAlignment},
		{"overlapping tensors", func() []byte {
			r := new(raw).header(3, 2, 0)
			r.tensor("a", TypeF32, 0, 16).tensor("b", TypeF32, 32, 16)
			return r.withData(128)
		}, ErrOverlappingTensors},
		{"tensor past EOF", func() []byte {
			return new(raw).header(3, 1, 0).tensor("t", TypeF32, 0, 1024).withData(64)
		}, ErrTensorBounds},
		{"duplicate tensor", func() []byte {
			r := new(raw).header(3, 2, 0)
			r.tensor("a", TypeF32, 0, 8).tensor("a", TypeF32, 32, 8)
			return r.withData(64)
		}, ErrDuplicate},
		{"tensor info cut", func() []byte {
			b := new(raw).header(3, 1, 0).tensor("t", TypeF32, 0, 8).Bytes()
			return b[:len(b)-3]
		}, ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data()
			_, err := Read(bytes.NewReader(data), int64(len(data)), ReadOptions{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			t.Log(err)
		})
	}
}

// A header-only read accepts tensors beyond the bytes it has, but still rejects
// overlaps.
func TestHeaderOnlySkipsDataBounds(t *testing.T) {
	data := new(raw).header(3, 1, 0).tensor("t", TypeF32, 0, 1024).withData(0)
	f, err := Read(bytes.NewReader(data), int64(len(data)), ReadOptions{HeaderOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.Tensors[0].Bytes() != 4096 {
		t.Fatalf("bytes = %d", f.Tensors[0].Bytes())
	}
}

func TestNotGGUFMessage(t *testing.T) {
	data := []byte("PK\x03\x04rest of a zip file")
	_, err := Read(bytes.NewReader(data), int64(len(data)), ReadOptions{})
	want := `not a GGUF file: the first 4 bytes are "PK\x03\x04", expected "GGUF"`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
