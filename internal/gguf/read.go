package gguf

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
)

// ReadOptions bound what Read accepts and keeps.
type ReadOptions struct {
	// MaxArrayElems: arrays with more elements keep only type and length
	// (tokenizer tokens, scores, merges). 0 means 1024; negative keeps everything.
	MaxArrayElems int
	// MaxHeaderBytes caps how far into the file the header may extend
	// (ErrTooLarge beyond). 0 means 512 MiB.
	MaxHeaderBytes int64
	// HeaderOnly skips the check that every tensor's data lies inside size, for a
	// reader that holds the header but not (all of) the data region.
	HeaderOnly bool
}

// File is a parsed GGUF header.
type File struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  uint64 // general.alignment, default 32
	DataOffset int64  // absolute offset of the tensor data region
	Size       int64  // file size as given to Read

	index map[string]int
}

// TensorInfo describes one tensor; Offset is relative to File.DataOffset.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ne[0] (contiguous row length) first
	Type   GGMLType
	Offset uint64
}

// Elems is the number of elements (the reader guarantees it does not overflow).
func (t TensorInfo) Elems() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Bytes is the tensor's size in the file: elements / block size × bytes per block.
func (t TensorInfo) Bytes() uint64 {
	bs, ts, ok := TypeTraits(t.Type)
	if !ok {
		return 0
	}
	return t.Elems() / bs * ts
}

const (
	magic         = "GGUF"
	maxDims       = 4 // GGML_MAX_DIMS
	maxNesting    = 8
	defaultAlign  = 32
	defaultArrMax = 1024
)

// ReadFile parses the header of a local GGUF file.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	gf, err := Read(f, st.Size(), ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return gf, nil
}

// Read parses a GGUF v2/v3 header from r, whose total size is size. It never
// trusts a count: each is checked against the bytes left before anything is
// allocated, and reads go through a growing read-ahead window (few, large ReadAt
// calls — cheap over HTTP ranges).
func Read(r io.ReaderAt, size int64, opts ReadOptions) (*File, error) {
	if opts.MaxArrayElems == 0 {
		opts.MaxArrayElems = defaultArrMax
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = 512 << 20
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrTruncated, size)
	}
	w := newWindow(r, size, opts.MaxHeaderBytes)
	p := parser{w: w, opts: opts}
	return p.file()
}

type parser struct {
	w    *window
	opts ReadOptions
}

func (p *parser) file() (*File, error) {
	w := p.w
	if w.size < 4 {
		return nil, fmt.Errorf("%w: the file is only %d bytes long", ErrNotGGUF, w.size)
	}
	m, err := w.need(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(m) != magic {
		return nil, fmt.Errorf("%w: the first 4 bytes are %q, expected %q", ErrNotGGUF, m, magic)
	}
	f := &File{Size: w.size, Alignment: defaultAlign}
	if f.Version, err = w.u32("version"); err != nil {
		return nil, err
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return nil, fmt.Errorf("%w: version 1 (pre-2023 files with 32-bit counts); convert the model again", ErrUnsupportedVersion)
	default:
		return nil, fmt.Errorf("%w: version %d (known: 2, 3)", ErrUnsupportedVersion, f.Version)
	}
	nt, err := w.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nkv, err := w.u64("metadata count")
	if err != nil {
		return nil, err
	}
	// Each KV needs ≥ 8+4+1 bytes, each tensor info ≥ 8+4+4+8.
	if nkv > w.remaining()/13 {
		return nil, fmt.Errorf("%w: the header claims %d metadata entries; %d bytes cannot hold that many", ErrTooLarge, nkv, w.remaining())
	}
	if nt > w.remaining()/24 {
		return nil, fmt.Errorf("%w: the header claims %d tensors; %d bytes cannot hold that many", ErrTooLarge, nt, w.remaining())
	}
	f.KV = make([]KV, 0, min(nkv, 4096))
	f.index = make(map[string]int, min(nkv, 4096))
	for i := uint64(0); i < nkv; i++ {
		key, err := w.str(fmt.Sprintf("metadata key #%d", i))
		if err != nil {
			return nil, err
		}
		if _, dup := f.index[key]; dup {
			return nil, fmt.Errorf("%w: metadata key %q appears twice", ErrDuplicate, key)
		}
		t, err := w.u32("type of " + key)
		if err != nil {
			return nil, err
		}
		v, err := p.value(ValueType(t), key, 0)
		if err != nil {
			return nil, err
		}
		f.index[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, isU := v.Uint()
		if !isU || a == 0 || a&(a-1) != 0 || a > 1<<30 {
			return nil, fmt.Errorf("%w: general.alignment is %v; it must be a power of two", ErrBadAlignment, v)
		}
		f.Alignment = a
	}
	if err := p.tensorInfos(f, nt); err != nil {
		return nil, err
	}
	pad := (f.Alignment - uint64(w.pos)%f.Alignment) % f.Alignment
	f.DataOffset = w.pos + int64(pad)
	if err := p.checkData(f); err != nil {
		return nil, err
	}
	return f, nil
}

func (p *parser) tensorInfos(f *File, nt uint64) error {
	w := p.w
	f.Tensors = make([]TensorInfo, 0, min(nt, 4096))
	names := make(map[string]struct{}, min(nt, 4096))
	for i := uint64(0); i < nt; i++ {
		name, err := w.str(fmt.Sprintf("name of tensor #%d", i))
		if err != nil {
			return err
		}
		if _, dup := names[name]; dup {
			return fmt.Errorf("%w: tensor %q appears twice", ErrDuplicate, name)
		}
		names[name] = struct{}{}
		nd, err := w.u32("dimension count of " + name)
		if err != nil {
			return err
		}
		if nd > maxDims {
			return fmt.Errorf("%w: tensor %q has %d dimensions; ggml allows at most %d", ErrTooLarge, name, nd, maxDims)
		}
		t := TensorInfo{Name: name, Dims: make([]uint64, nd)}
		elems := uint64(1)
		for d := range t.Dims {
			if t.Dims[d], err = w.u64("shape of " + name); err != nil {
				return err
			}
			if t.Dims[d] > math.MaxInt64 {
				return fmt.Errorf("%w: tensor %q has a negative dimension", ErrBadShape, name)
			}
			hi, lo := bits.Mul64(elems, t.Dims[d])
			if hi != 0 || lo > math.MaxInt64 {
				return fmt.Errorf("%w: tensor %q shape %v overflows 63 bits", ErrTooLarge, name, t.Dims)
			}
			elems = lo
		}
		ty, err := w.u32("type of " + name)
		if err != nil {
			return err
		}
		t.Type = GGMLType(ty)
		bs, ts, ok := TypeTraits(t.Type)
		if !ok {
			return fmt.Errorf("%w: tensor %q has ggml type id %d, which llama.cpp does not know (newer model format?)", ErrUnknownType, name, ty)
		}
		if nd > 0 && t.Dims[0]%bs != 0 {
			return fmt.Errorf("%w: tensor %q row length %d is not a multiple of the %s block size %d", ErrBadShape, name, t.Dims[0], t.Type, bs)
		}
		if hi, _ := bits.Mul64(elems/bs, ts); hi != 0 {
			return fmt.Errorf("%w: tensor %q byte size overflows", ErrTooLarge, name)
		}
		if t.Offset, err = w.u64("offset of " + name); err != nil {
			return err
		}
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("%w: tensor %q starts at data offset %d, not a multiple of the alignment %d", ErrBadAlignment, name, t.Offset, f.Alignment)
		}
		f.Tensors = append(f.Tensors, t)
	}
	return nil
}

// checkData rejects tensors that overlap each other or (unless HeaderOnly) run
// past the end of the file.
func (p *parser) checkData(f *File) error {
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	var end uint64
	prev := ""
	for _, i := range order {
		t := f.Tensors[i]
		if t.Offset < end {
			return fmt.Errorf("%w: tensor %q starts at data offset %d, inside tensor %q (which ends at %d)", ErrOverlappingTensors, t.Name, t.Offset, prev, end)
		}
		e, carry := bits.Add64(t.Offset, t.Bytes(), 0)
		if carry != 0 {
			return fmt.Errorf("%w: tensor %q offset %d + %d bytes overflows", ErrTensorBounds, t.Name, t.Offset, t.Bytes())
		}
		end, prev = e, t.Name
		if p.opts.HeaderOnly {
			continue
		}
		if abs, c := bits.Add64(uint64(f.DataOffset), e, 0); c != 0 || abs > uint64(f.Size) {
			return fmt.Errorf("%w: tensor %q needs bytes up to %d but the file is %d bytes (incomplete download?)", ErrTensorBounds, t.Name, uint64(f.DataOffset)+e, f.Size)
		}
	}
	return nil
}
