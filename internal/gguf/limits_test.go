package gguf

// Issue 14.5: a hostile header must not cost gigabytes. Memory is measured as
// bytes allocated by Read (runtime.MemStats.TotalAlloc), which does not depend
// on the machine's speed or load.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// manyTensors is a GGUF of nt zero-dimension F32 tensors, generated on the
// fly (the test never holds the 100+ MB file): each tensor info is 32 bytes
// (name "t%07d", no dims, type 0, offset i×32).
type manyTensors struct{ nt int64 }

const infoSize = 32

func (m manyTensors) headerEnd() int64 { return 24 + m.nt*infoSize }
func (m manyTensors) size() int64 {
	return (m.headerEnd()+31)/32*32 + m.nt*32
}

func (m manyTensors) ReadAt(p []byte, off int64) (int, error) {
	var hdr [24]byte
	copy(hdr[:], "GGUF")
	binary.LittleEndian.PutUint32(hdr[4:], 3)
	binary.LittleEndian.PutUint64(hdr[8:], uint64(m.nt))
	var info [infoSize]byte
	cur := int64(-1)
	for i := range p {
		o := off + int64(i)
		switch {
		case o >= m.size():
			return i, io.EOF
		case o < 24:
			p[i] = hdr[o]
		case o < m.headerEnd():
			k := (o - 24) / infoSize
			if k != cur {
				binary.LittleEndian.PutUint64(info[0:], 8)
				copy(info[8:16], fmt.Sprintf("t%07d", k))
				binary.LittleEndian.PutUint32(info[16:], 0)
				binary.LittleEndian.PutUint32(info[20:], 0)
				binary.LittleEndian.PutUint64(info[24:], uint64(k*32))
				cur = k
			}
			p[i] = info[(o-24)%infoSize]
		default:
			p[i] = 0
		}
	}
	return len(p), nil
}

func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestManyTensorsRefusedCheaply: the 3,000,000-tensor header of the issue
// (96 MB of tensor infos) took 810 MB to parse; now the count is refused with
// a clear error before anything is kept.
func TestManyTensorsRefusedCheaply(t *testing.T) {
	m := manyTensors{nt: 3_000_000}
	var err error
	n := allocated(func() { _, err = Read(m, m.size(), ReadOptions{HeaderOnly: true}) })
	if !errors.Is(err, ErrTooLarge) || !IsFormatError(err) {
		t.Fatalf("Read of %d tensors: %v, want ErrTooLarge", m.nt, err)
	}
	if n > 8<<20 {
		t.Errorf("refusing the header allocated %d MB", n>>20)
	}
	t.Logf("3,000,000 tensors: %v; %d KB allocated", err, n>>10)
}

// TestTensorInfoMemoryIsProportional: at the count limit a header is read,
// and what it costs is proportional to its tensors (≈ 150 B each here, once:
// no per-tensor strings for error messages, no regrown slices).
func TestTensorInfoMemoryIsProportional(t *testing.T) {
	m := manyTensors{nt: defaultMaxCount}
	var f *File
	var err error
	n := allocated(func() { f, err = Read(m, m.size(), ReadOptions{HeaderOnly: true}) })
	if err != nil || len(f.Tensors) != defaultMaxCount {
		t.Fatalf("Read at the limit: %v", err)
	}
	perTensor := n / uint64(m.nt)
	t.Logf("%d tensors: %d KB allocated, %d B per tensor", m.nt, n>>10, perTensor)
	// The read-ahead window (≤ 16 MiB for this 2 MB header) is counted too.
	if perTensor > 400 {
		t.Errorf("%d B allocated per tensor", perTensor)
	}
	m.nt++
	if _, err := Read(m, m.size(), ReadOptions{HeaderOnly: true}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one tensor over the limit: %v", err)
	}
}

// TestNestedArrayBomb: arrays of 1024 arrays of 1024 items are kept within
// the memory budget (the rest keep type and length only).
func TestNestedArrayBomb(t *testing.T) {
	inner := make([]Value, 1024)
	for i := range inner {
		inner[i] = Uint8(uint8(i))
	}
	outer := make([]Value, 1024)
	for i := range outer {
		outer[i] = Array(ValUint8, inner)
	}
	kv := []KV{{Key: "general.architecture", Value: String("llama")}}
	for i := 0; i < 4; i++ {
		kv = append(kv, KV{Key: fmt.Sprintf("bomb.%d", i), Value: Array(ValArray, outer)})
	}
	b := writeBytes(t, kv)
	var err error
	n := allocated(func() { _, err = Read(bytes.NewReader(b), int64(len(b)), ReadOptions{}) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MB header of 4M nested items: %d MB allocated", len(b)>>20, n>>20)
	if n > 100<<20 {
		t.Errorf("%d MB allocated for a %d MB header (budget 64 MiB)", n>>20, len(b)>>20)
	}
}

// TestLongTensorNameRefused: gguf.cpp refuses names of GGML_MAX_NAME (64)
// bytes or more, so fitbench does too.
func TestLongTensorNameRefused(t *testing.T) {
	name := fmt.Sprintf("%064d", 0)
	var raw []byte
	raw = append(raw, "GGUF"...)
	raw = binary.LittleEndian.AppendUint32(raw, 3)
	raw = binary.LittleEndian.AppendUint64(raw, 1)
	raw = binary.LittleEndian.AppendUint64(raw, 0)
	raw = binary.LittleEndian.AppendUint64(raw, uint64(len(name)))
	raw = append(raw, name...)
	raw = binary.LittleEndian.AppendUint32(raw, 0)
	raw = binary.LittleEndian.AppendUint32(raw, 0)
	raw = binary.LittleEndian.AppendUint64(raw, 0)
	raw = append(raw, make([]byte, 64)...)
	if _, err := Read(bytes.NewReader(raw), int64(len(raw)), ReadOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("64-byte tensor name: %v", err)
	}
}

func writeBytes(t *testing.T, kv []KV) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
