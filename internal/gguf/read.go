package gguf

import (
	"fmt"
	"io"
	"math"
	"math/bits"
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
	// MaxTensors and MaxKV cap the counts a header may declare (ErrTooLarge
	// beyond); 0 means 65536 each. The largest real models have a few
	// thousand tensors per file and about a hundred metadata keys; a hostile
	// header of 3,000,000 tensors cost 810 MB to parse (issue 14.5).
	MaxTensors, MaxKV uint64
	// MaxMemory bounds what the parsed header may keep (keys, strings,
	// kept array items, tensor infos); 0 means 64 MiB. An array that would
	// pass it keeps only type and length, like a long one; anything else
	// fails with ErrTooLarge.
	MaxMemory int64
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
	// defaultMaxCount caps tensors and metadata entries per file.
	defaultMaxCount = 1 << 16
)

// ReadFile parses the header of a local GGUF file.
func ReadFile(path string) (*File, error) {
	f, err := OpenRegular(path)
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
	if opts.MaxTensors == 0 {
		opts.MaxTensors = defaultMaxCount
	}
	if opts.MaxKV == 0 {
		opts.MaxKV = defaultMaxCount
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = 64 << 20
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
	kept int64 // bytes the parsed header holds so far (estimated), against opts.MaxMemory
}

// Memory charged per kept item: a Value, a KV, a TensorInfo with its dims
// and its entry in the duplicate-name map (sizes on 64-bit Go, rounded up).
const (
	valueCost  = 80
	kvCost     = 120
	tensorCost = 200
)

// charge records n more kept bytes, failing past the budget (callers add
// where; no string is built unless it fails).
func (p *parser) charge(n int64) error {
	p.kept += n
	if p.kept > p.opts.MaxMemory {
		return fmt.Errorf("%w: the header needs more than %d MiB of memory; no real model's header does",
			ErrTooLarge, p.opts.MaxMemory>>20)
	}
	return nil
}

// fits reports whether n more bytes stay within the budget (arrays that do
// not fit are kept as type and length only).
func (p *parser) fits(n uint64) bool {
	return n <= uint64(p.opts.MaxMemory) && p.kept+int64(n) <= p.opts.MaxMemory
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
	if nt > p.opts.MaxTensors {
		return nil, fmt.Errorf("%w: the header lists %d tensors; real models have a few thousand at most (limit %d)", ErrTooLarge, nt, p.opts.MaxTensors)
	}
	if nkv > p.opts.MaxKV {
		return nil, fmt.Errorf("%w: the header lists %d metadata entries; real models have about a hundred (limit %d)", ErrTooLarge, nkv, p.opts.MaxKV)
	}
	f.KV = make([]KV, 0, min(nkv, 4096))
	f.index = make(map[string]int, min(nkv, 4096))
	for i := uint64(0); i < nkv; i++ {
		key, err := w.str("metadata key")
		if err != nil {
			return nil, fmt.Errorf("metadata entry #%d: %w", i, err)
		}
		if err := p.charge(kvCost + int64(len(key))); err != nil {
			return nil, fmt.Errorf("metadata entry #%d: %w", i, err)
		}
		if _, dup := f.index[key]; dup {
			return nil, fmt.Errorf("%w: metadata key %q appears twice", ErrDuplicate, key)
		}
		t, err := w.u32("value type")
		if err != nil {
			return nil, fmt.Errorf("metadata %q: %w", key, err)
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
	f.Tensors = make([]TensorInfo, 0, nt) // nt ≤ MaxTensors: allocated once, never regrown
	names := make(map[string]struct{}, nt)
	dims := make([]uint64, 0, nt*maxDims) // one backing array for every tensor's shape
	for i := uint64(0); i < nt; i++ {
		t, err := p.tensorInfo(f, &dims)
		if err != nil {
			if t.Name != "" {
				return fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			return fmt.Errorf("tensor #%d: %w", i, err)
		}
		if _, dup := names[t.Name]; dup {
			return fmt.Errorf("%w: tensor %q appears twice", ErrDuplicate, t.Name)
		}
		names[t.Name] = struct{}{}
		if err := p.charge(tensorCost + int64(len(t.Name))); err != nil {
			return fmt.Errorf("tensor #%d: %w", i, err)
		}
		f.Tensors = append(f.Tensors, t)
	}
	return nil
}

// ggmlMaxName is GGML_MAX_NAME (ggml.h): gguf.cpp refuses a tensor name of
// that length or longer ("tensor name is too long", gguf.cpp).
const ggmlMaxName = 64

// tensorInfo reads one tensor info. Messages name the field only; the caller
// adds the tensor (no per-tensor string building on the hot path).
func (p *parser) tensorInfo(f *File, dims *[]uint64) (TensorInfo, error) {
	w := p.w
	var t TensorInfo
	n, err := w.strLen("name")
	if err != nil {
		return t, err
	}
	if n >= ggmlMaxName {
		return t, fmt.Errorf("%w: a tensor name is %d bytes; llama.cpp allows at most %d", ErrTooLarge, n, ggmlMaxName-1)
	}
	b, err := w.need(n, "name")
	if err != nil {
		return t, err
	}
	t.Name = string(b)
	nd, err := w.u32("dimension count")
	if err != nil {
		return t, err
	}
	if nd > maxDims {
		return t, fmt.Errorf("%w: %d dimensions; ggml allows at most %d", ErrTooLarge, nd, maxDims)
	}
	start := len(*dims)
	elems := uint64(1)
	for d := uint32(0); d < nd; d++ {
		x, err := w.u64("shape")
		if err != nil {
			return t, err
		}
		if x > math.MaxInt64 {
			return t, fmt.Errorf("%w: a negative dimension", ErrBadShape)
		}
		hi, lo := bits.Mul64(elems, x)
		if hi != 0 || lo > math.MaxInt64 {
			return t, fmt.Errorf("%w: shape %v overflows 63 bits", ErrTooLarge, append((*dims)[start:len(*dims):len(*dims)], x))
		}
		elems = lo
		*dims = append(*dims, x)
	}
	t.Dims = (*dims)[start:len(*dims):len(*dims)]
	ty, err := w.u32("type")
	if err != nil {
		return t, err
	}
	t.Type = GGMLType(ty)
	bs, ts, ok := TypeTraits(t.Type)
	if !ok {
		return t, fmt.Errorf("%w: ggml type id %d, which llama.cpp does not know (newer model format?)", ErrUnknownType, ty)
	}
	if nd > 0 && t.Dims[0]%bs != 0 {
		return t, fmt.Errorf("%w: row length %d is not a multiple of the %s block size %d", ErrBadShape, t.Dims[0], t.Type, bs)
	}
	if hi, _ := bits.Mul64(elems/bs, ts); hi != 0 {
		return t, fmt.Errorf("%w: byte size overflows", ErrTooLarge)
	}
	if t.Offset, err = w.u64("offset"); err != nil {
		return t, err
	}
	if t.Offset%f.Alignment != 0 {
		return t, fmt.Errorf("%w: starts at data offset %d, not a multiple of the alignment %d", ErrBadAlignment, t.Offset, f.Alignment)
	}
	return t, nil
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
