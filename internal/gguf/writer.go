package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// TensorSpec declares a tensor to be written; data follows in declaration order.
type TensorSpec struct {
	Name string
	Dims []uint64
	Type GGMLType
}

// Bytes is the tensor's data size.
func (t TensorSpec) Bytes() uint64 {
	return TensorInfo{Dims: t.Dims, Type: t.Type}.Bytes()
}

// Writer writes a GGUF v3 file as a stream: NewWriter emits the header, then the
// caller streams each tensor's bytes in order through Write (padding between
// tensors is inserted automatically), then Close. Nothing but the header is held
// in memory, so multi-GB models can be generated. For sparse "header-only" files
// write only the header (HeaderSize) and extend the file to TotalSize.
type Writer struct {
	w          *bufio.Writer
	tensors    []TensorSpec
	offsets    []uint64
	align      uint64
	headerSize int64
	dataSize   uint64
	cur        int    // tensor being written
	curWritten uint64 // bytes of it written so far
	err        error
}

// NewWriter validates kv and tensors, computes offsets and writes the header.
// general.alignment in kv (uint32) sets the alignment; default 32.
func NewWriter(w io.Writer, kv []KV, tensors []TensorSpec) (*Writer, error) {
	gw := &Writer{w: bufio.NewWriterSize(w, 1<<20), tensors: tensors, align: defaultAlign}
	seen := map[string]bool{}
	for _, e := range kv {
		if seen[e.Key] {
			return nil, fmt.Errorf("%w: metadata key %q given twice", ErrDuplicate, e.Key)
		}
		seen[e.Key] = true
		if e.Key == "general.alignment" {
			a, ok := e.Value.Uint()
			if !ok || e.Value.Type != ValUint32 || a == 0 || a&(a-1) != 0 {
				return nil, fmt.Errorf("%w: general.alignment must be a uint32 power of two", ErrBadAlignment)
			}
			gw.align = a
		}
	}
	var off uint64
	names := map[string]bool{}
	for _, t := range tensors {
		if names[t.Name] {
			return nil, fmt.Errorf("%w: tensor %q given twice", ErrDuplicate, t.Name)
		}
		names[t.Name] = true
		bs, _, ok := TypeTraits(t.Type)
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q type %d", ErrUnknownType, t.Name, t.Type)
		}
		if len(t.Dims) == 0 || len(t.Dims) > maxDims || t.Dims[0]%bs != 0 {
			return nil, fmt.Errorf("%w: tensor %q shape %v (type %s)", ErrBadShape, t.Name, t.Dims, t.Type)
		}
		gw.offsets = append(gw.offsets, off)
		off = alignUp(off+t.Bytes(), gw.align)
	}
	gw.dataSize = off
	gw.header(kv)
	gw.skipEmpty()
	if gw.err != nil {
		return nil, gw.err
	}
	return gw, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// TotalSize is the complete file size once all tensor data is written.
func (w *Writer) TotalSize() int64 { return w.headerSize + int64(w.dataSize) }

func (w *Writer) put(v any) {
	if w.err == nil {
		w.err = binary.Write(w.w, binary.LittleEndian, v)
	}
}

func (w *Writer) putStr(s string) {
	w.put(uint64(len(s)))
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

func (w *Writer) header(kv []KV) {
	w.put([]byte(magic))
	w.put(uint32(3))
	w.put(uint64(len(w.tensors)))
	w.put(uint64(len(kv)))
	n := int64(24)
	for _, e := range kv {
		w.putStr(e.Key)
		w.put(uint32(e.Value.Type))
		n += 8 + int64(len(e.Key)) + 4 + w.value(e.Value)
	}
	for i, t := range w.tensors {
		w.putStr(t.Name)
		w.put(uint32(len(t.Dims)))
		w.put(t.Dims)
		w.put(uint32(t.Type))
		w.put(w.offsets[i])
		n += 8 + int64(len(t.Name)) + 4 + 8*int64(len(t.Dims)) + 4 + 8
	}
	pad := alignUp(uint64(n), w.align) - uint64(n)
	w.put(make([]byte, pad))
	w.headerSize = n + int64(pad)
}

// value writes v's payload (not its type tag) and returns its encoded size.
func (w *Writer) value(v Value) int64 {
	switch v.Type {
	case ValUint8, ValInt8, ValBool:
		w.put(uint8(v.u))
		return 1
	case ValUint16, ValInt16:
		w.put(uint16(v.u))
		return 2
	case ValUint32, ValInt32:
		w.put(uint32(v.u))
		return 4
	case ValFloat32:
		w.put(math.Float32bits(float32(v.f)))
		return 4
	case ValUint64, ValInt64:
		w.put(v.u)
		return 8
	case ValFloat64:
		w.put(math.Float64bits(v.f))
		return 8
	case ValString:
		w.putStr(v.s)
		return 8 + int64(len(v.s))
	case ValArray:
		if v.Skipped() {
			w.err = errors.Join(w.err, fmt.Errorf("gguf: cannot write an array whose contents were skipped"))
			return 0
		}
		w.put(uint32(v.Elem))
		w.put(uint64(len(v.Items)))
		n := int64(12)
		for _, it := range v.Items {
			if it.Type != v.Elem {
				w.err = errors.Join(w.err, fmt.Errorf("gguf: array of %s holds a %s", v.Elem, it.Type))
				return n
			}
			n += w.value(it)
		}
		return n
	}
	w.err = errors.Join(w.err, fmt.Errorf("%w: value type %d", ErrUnknownType, v.Type))
	return 0
}

// Write streams tensor data; p may span tensor boundaries.
func (w *Writer) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && w.err == nil {
		if w.cur >= len(w.tensors) {
			return total, fmt.Errorf("gguf: %d bytes written past the last tensor", len(p))
		}
		size := w.tensors[w.cur].Bytes()
		n := min(uint64(len(p)), size-w.curWritten)
		_, w.err = w.w.Write(p[:n])
		w.curWritten += n
		total += int(n)
		p = p[n:]
		if w.curWritten == size {
			w.put(make([]byte, alignUp(size, w.align)-size))
			w.cur++
			w.curWritten = 0
			w.skipEmpty()
		}
	}
	return total, w.err
}

// Flush writes buffered header bytes (for header-only output before truncating).
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// Close checks that every tensor received all its bytes and flushes.
func (w *Writer) Close() error {
	if w.err == nil && w.cur < len(w.tensors) {
		w.err = fmt.Errorf("gguf: tensor %q got %d of %d bytes", w.tensors[w.cur].Name, w.curWritten, w.tensors[w.cur].Bytes())
	}
	return w.Flush()
}

// skipEmpty passes over tensors with no elements (they take no data bytes).
func (w *Writer) skipEmpty() {
	for w.cur < len(w.tensors) && w.tensors[w.cur].Bytes() == 0 {
		w.cur++
	}
}
