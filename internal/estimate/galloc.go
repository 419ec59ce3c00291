package estimate

// A small model of ggml's graph allocator (ggml-alloc.c, ggml_gallocr with its
// dynamic best-fit tallocr). llama.cpp sizes its compute buffer by running that
// allocator over the worst-case graph; replaying the same algorithm over the same
// sequence of tensors gives the same peak, including the fragmentation that no
// closed formula captures. Only what decides sizes is modelled: tensor byte sizes,
// views, in-place reuse, inputs allocated first, outputs never freed.

const gallocAlign = 32 // CPU buffer alignment (TENSOR_ALIGNMENT); CUDA uses 128

type gtensor struct {
	size    uint64
	inplace bool       // op is one of ggml_op_can_inplace's ops
	srcs    []*gtensor // operands that are graph tensors (weights/cache omitted)
	view    *gtensor   // root tensor this is a view of (nil = owns memory)
	ext     bool       // lives in another buffer (KV cache views): never allocated
	input   bool
	output  bool

	// allocator state
	children, views int
	allocated       bool
	offset          uint64
}

type graph struct {
	nodes []*gtensor
}

func (g *graph) add(t *gtensor) *gtensor {
	if t.view != nil && t.view.view != nil {
		t.view = t.view.view
	}
	g.nodes = append(g.nodes, t)
	return t
}

// op adds a computed tensor of size bytes.
func (g *graph) op(size uint64, inplace bool, srcs ...*gtensor) *gtensor {
	return g.add(&gtensor{size: size, inplace: inplace, srcs: nonNil(srcs)})
}

// viewOf adds a view (reshape/permute/view) of src.
func (g *graph) viewOf(src *gtensor, extra ...*gtensor) *gtensor {
	v := &gtensor{size: src.size, view: src, srcs: nonNil(append([]*gtensor{src}, extra...))}
	if src.ext {
		v.ext = true
	}
	return g.add(v)
}

func nonNil(ts []*gtensor) []*gtensor {
	out := ts[:0:0]
	for _, t := range ts {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

type freeBlock struct{ off, size uint64 }

// dynAlloc is ggml_dyn_tallocr for a single chunk: best fit among free blocks
// except the last, which is unbounded and grows the buffer.
type dynAlloc struct {
	free []freeBlock // sorted by offset; the last one is the open end
	max  uint64
}

func newDynAlloc() *dynAlloc {
	return &dynAlloc{free: []freeBlock{{0, 1 << 62}}}
}

func alignUp(n uint64) uint64 { return (n + gallocAlign - 1) / gallocAlign * gallocAlign }

func (a *dynAlloc) alloc(size uint64) uint64 {
	size = alignUp(size)
	best := -1
	var bestSize uint64 = 1<<64 - 1
	for i := 0; i < len(a.free)-1; i++ {
		b := a.free[i]
		if b.size >= size && b.size <= bestSize {
			best, bestSize = i, b.size
		}
	}
	if best == -1 {
		best = len(a.free) - 1
	}
	b := &a.free[best]
	off := b.off
	b.off += size
	b.size -= size
	if b.size == 0 {
		a.free = append(a.free[:best], a.free[best+1:]...)
	}
	if off+size > a.max {
		a.max = off + size
	}
	return off
}

func (a *dynAlloc) release(off, size uint64) {
	size = alignUp(size)
	for i := range a.free {
		b := &a.free[i]
		if b.off+b.size == off {
			b.size += size
			if i < len(a.free)-1 && b.off+b.size == a.free[i+1].off {
				b.size += a.free[i+1].size
				a.free = append(a.free[:i+1], a.free[i+2:]...)
			}
			return
		}
		if off+size == b.off {
			b.off = off
			b.size += size
			if i > 0 && a.free[i-1].off+a.free[i-1].size == b.off {
				a.free[i-1].size += b.size
				a.free = append(a.free[:i], a.free[i+1:]...)
			}
			return
		}
	}
	pos := 0
	for pos < len(a.free) && a.free[pos].off < off {
		pos++
	}
	a.free = append(a.free, freeBlock{})
	copy(a.free[pos+1:], a.free[pos:])
	a.free[pos] = freeBlock{off, size}
}

// peak replays ggml_gallocr_alloc_graph_impl and returns the buffer size.
func (g *graph) peak() uint64 {
	a := newDynAlloc()
	allocate := func(t *gtensor) {
		if t.allocated || t.view != nil || t.ext {
			return
		}
		t.allocated = true
		if t.inplace {
			for _, p := range t.srcs {
				if p.ext || p.output || (p.view != nil && p.view.output) || p.size != t.size {
					continue
				}
				// A view parent is never reused: ggml_gallocr_is_own(parent)
				// reads the view's own hash entry, which allocate_node never
				// marks allocated for views (ggml-alloc.c), so the "reusing
				// view parent" branch there is unreachable and an op on a
				// reshaped/permuted tensor (rope on Qcur, scale on a view)
				// gets fresh memory.
				if p.view != nil {
					continue
				}
				if p.children == 1 && p.views == 0 {
					t.offset = p.offset
					p.allocated = false
					return
				}
			}
		}
		t.offset = a.alloc(t.size)
	}
	release := func(t *gtensor) {
		if t.output {
			return
		}
		a.release(t.offset, t.size)
		t.allocated = false
	}
	for _, n := range g.nodes {
		if n.view != nil {
			n.view.views++
		}
		if n.input {
			allocate(n)
		}
		for _, s := range n.srcs {
			s.children++
			if s.input {
				allocate(s)
			}
		}
	}
	for _, n := range g.nodes {
		for _, s := range n.srcs {
			allocate(s)
		}
		allocate(n)
		for _, p := range n.srcs {
			p.children--
			if p.children == 0 && p.views == 0 {
				if p.view != nil {
					vs := p.view
					vs.views--
					if vs.views == 0 && vs.children == 0 && vs.allocated {
						release(vs)
					}
				} else if p.allocated {
					release(p)
				}
			}
		}
	}
	return a.max
}
