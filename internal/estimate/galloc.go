package estimate

import "fmt"

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
	srcs    []*gtensor // operands: graph tensors, weights and cache tensors
	view    *gtensor   // root tensor this is a view of (nil = owns memory)
	ext     bool       // lives in another buffer (weights, KV cache): never allocated
	input   bool
	output  bool

	// what the scheduler replay (sched.go) reads
	weight   bool    // ext leaf in a weights buffer (else the KV cache / recurrent state)
	small    bool    // weight stored as F32 (norms, biases): 4 bytes per element
	expert   bool    // an expert tensor (ffn_*_exps), which -ot can place apart
	ffn      ffnPart // a FFN weight: which part (-ot patterns of the fit match by name)
	ne0      int     // weights and cache views: elements per row (ggml ne[0])
	bpe      float64 // quantized weights and cache: bytes per element (0 = not quantized)
	layer    int     // ext tensors and cache writes: the block whose buffer holds it (-1 input layer, n_layer output)
	cacheDst bool    // set_rows into the cache: a node pre-allocated in the layer's cache buffer
	getRows  bool    // GGML_OP_GET_ROWS: CUDA's get_op_batch_size is 0, never offloaded
	norm     bool    // a block's rms_norm output before its weight, named "norm-<il>" (layer = il)
	batch    int     // rows of the op (get_op_batch_size for the ops that read weights)
	node     bool    // in graph.nodes (else a leaf)
	dep      bool    // the scheduler's dependency node (ggml_view_tensor, op NONE): keeps its source alive
	backend  int     // assigned backend (sched.go); the buffer it is allocated in

	// allocator state
	children, views int
	allocated       bool
	offset          uint64
}

type graph struct {
	nodes   []*gtensor
	weights []*gtensor // every weight leaf, for setWeightSizes
	rows    int        // rows of the ops being added (the batch; fewer after out_ids)
	nTok    int        // tokens of the ubatch the graph is reserved for
	cur     int        // layer the weights being added belong to
	// mark is where ggml's node order stands after the last explicit
	// ggml_build_forward_expand (nodes built but not yet expanded follow it
	// only when something later reaches them); see moveToMark
	mark int
}

func (g *graph) add(t *gtensor) *gtensor {
	if t.view != nil && t.view.view != nil {
		t.view = t.view.view
	}
	t.node = true
	t.batch = g.rows
	g.nodes = append(g.nodes, t)
	return t
}

// op adds a computed tensor of size bytes.
func (g *graph) op(size uint64, inplace bool, srcs ...*gtensor) *gtensor {
	return g.add(&gtensor{size: size, inplace: inplace, srcs: nonNil(srcs)})
}

// rmsNorm adds the rms_norm of a block's norm (llm_graph_context::build_norm
// names it "norm" with the block index before multiplying by the weight).
func (g *graph) rmsNorm(size uint64, src *gtensor) *gtensor {
	t := g.op(size, true, src)
	t.norm, t.layer = true, g.cur
	return t
}

// getRows adds a GGML_OP_GET_ROWS (embedding lookup, out_ids selection).
func (g *graph) getRows(size uint64, srcs ...*gtensor) *gtensor {
	t := g.op(size, false, srcs...)
	t.getRows = true
	return t
}

// weight is a weight leaf of layer g.cur: elems elements, F32 when small
// (norms, biases); its bytes are set by setWeightSizes.
func (g *graph) weight(elems uint64, f32 bool, ne0 int) *gtensor {
	t := &gtensor{ext: true, weight: true, layer: g.cur, size: elems, small: f32, ne0: ne0}
	g.weights = append(g.weights, t)
	return t
}

// cache is a view of layer il's KV cache (or recurrent state), size bytes.
func (g *graph) cache(il int, size uint64) *gtensor {
	return &gtensor{ext: true, layer: il, size: size}
}

// setRows adds a write into layer il's cache (ggml_set_rows returns a view of
// the cache tensor: nothing to allocate, but it runs where the cache is).
func (g *graph) setRows(il int, srcs ...*gtensor) {
	t := g.op(0, false, append([]*gtensor{g.cache(il, 0)}, srcs...)...)
	t.ext, t.cacheDst, t.layer = true, true, il
}

// setWeightSizes turns the weights' element counts into bytes: F32 weights 4
// per element, matrices the rest of their block's stored bytes spread over
// their elements (quantized blocks have one type per block in practice). The
// input layer's matrix is token_embd, the output layer's the output matrix
// (token_embd when tied).
func (g *graph) setWeightSizes(s graphShape) {
	// a block's expert tensors (ffn_*_exps) often have their own type (a
	// Q4_0 or MXFP4 expert beside Q8_0 attention): they share the block's
	// expert bytes (gguf.Summary.ExpertLayerBytes), the other matrices the
	// rest, so a copied expert matrix has its own size
	type key struct {
		layer  int
		expert bool
	}
	type acc struct{ f32, elems uint64 }
	expertPart := func(w *gtensor) bool {
		return w.expert && w.layer >= 0 && w.layer < len(s.expertLayerBytes) && s.expertLayerBytes[w.layer] > 0
	}
	per := map[key]*acc{}
	for _, w := range g.weights {
		k := key{w.layer, expertPart(w)}
		a := per[k]
		if a == nil {
			a = &acc{}
			per[k] = a
		}
		if w.small {
			a.f32 += 4 * w.size
		} else {
			a.elems += w.size
		}
	}
	nL := len(s.headKV)
	for _, w := range g.weights {
		if w.small {
			w.size *= 4
			continue
		}
		exp := expertPart(w)
		a := per[key{w.layer, exp}]
		elems := w.size
		var total uint64
		switch {
		case w.layer < 0:
			total = s.embBytes
		case w.layer >= nL:
			total = s.outBytes
		case exp:
			e := s.expertLayerBytes[w.layer]
			total = e - min(a.f32, e)
		case w.layer < len(s.layerBytes):
			b := s.layerBytes[w.layer]
			if w.layer < len(s.expertLayerBytes) {
				b -= min(s.expertLayerBytes[w.layer], b)
			}
			total = b - min(a.f32, b)
		}
		if a.elems > 0 {
			w.size = uint64(float64(total) * float64(w.size) / float64(a.elems))
		} else {
			w.size = 0
		}
		if bpe := float64(total) / float64(max(a.elems, 1)); elems > 0 && bpe < 1.9 {
			w.bpe = bpe // below F16/BF16: a quantized type (CUDA pads its rows)
		}
	}
}

// viewOf adds a view (reshape/permute/view) of src.
func (g *graph) viewOf(src *gtensor, extra ...*gtensor) *gtensor {
	v := &gtensor{size: src.size, view: src, srcs: nonNil(append([]*gtensor{src}, extra...))}
	if src.ext {
		v.ext = true
		v.layer = src.layer
	}
	return g.add(v)
}

// nonNil drops nil operands. ts is the caller's own (variadic) slice, so it
// is filtered in place rather than copied.
func nonNil(ts []*gtensor) []*gtensor {
	out := ts[:0]
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
	free  []freeBlock // sorted by offset; the last one is the open end
	max   uint64
	align uint64
}

func newDynAlloc(align uint64) *dynAlloc {
	return &dynAlloc{free: []freeBlock{{0, 1 << 62}}, align: align}
}

func (a *dynAlloc) alignUp(n uint64) uint64 { return (n + a.align - 1) / a.align * a.align }

func (a *dynAlloc) alloc(size uint64) uint64 {
	size = a.alignUp(size)
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
	size = a.alignUp(size)
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

// peak replays ggml_gallocr_alloc_graph_impl with one buffer (every tensor
// on one backend) and returns its size.
func (g *graph) peak() uint64 {
	for _, n := range g.nodes {
		n.backend = 0
	}
	return g.peaks(nil, []uint64{gallocAlign})[0]
}

// peaks replays ggml_gallocr_alloc_graph_impl over g.nodes with one buffer
// per backend (align[b] its alignment): the leafs first, in order (under
// pipeline parallelism the scheduler's input copies), then the graph inputs
// where they are first read, then node by node; a tensor is allocated in the
// buffer of its backend (t.backend), an in-place op takes its parent's place.
// Returns each buffer's size.
func (g *graph) peaks(leafs []*gtensor, align []uint64) []uint64 {
	bufs := make([]*dynAlloc, len(align))
	at := -1 // the node being allocated (schedTrace)
	for i, al := range align {
		bufs[i] = newDynAlloc(al)
	}
	allocate := func(t *gtensor, buf int) {
		if t.allocated || t.view != nil || t.ext || t.dep {
			return
		}
		t.allocated = true
		if t.inplace {
			for _, p := range t.srcs {
				if p.ext || p.dep || p.output || (p.view != nil && p.view.output) || p.size != t.size {
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
					t.backend = p.backend // hn->buffer_id = p_hn->buffer_id
					p.allocated = false
					return
				}
			}
		}
		t.backend = buf
		before := bufs[buf].max
		var freeBefore []freeBlock
		if schedTrace != nil {
			freeBefore = append(freeBefore, bufs[buf].free...)
		}
		t.offset = bufs[buf].alloc(t.size)
		if schedTrace != nil && bufs[buf].max > before {
			fmt.Fprintf(schedTrace, "alloc b%d grows to %d (%s %d at %d, node #%d) free before %v\n", buf, bufs[buf].max, traceKind(t), t.size, t.offset, at, freeBefore)
		}
	}
	release := func(t *gtensor) {
		if t.output {
			return
		}
		bufs[t.backend].release(t.offset, t.size)
		t.allocated = false
	}
	for _, l := range leafs {
		allocate(l, l.backend)
	}
	for _, n := range g.nodes {
		if n.view != nil {
			n.view.views++
		}
		if n.input {
			allocate(n, n.backend)
		}
		for _, s := range n.srcs {
			s.children++
			if s.input {
				allocate(s, s.backend)
			}
		}
	}
	for i, n := range g.nodes {
		at = i
		for _, s := range n.srcs {
			allocate(s, n.backend)
		}
		allocate(n, n.backend)
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
	out := make([]uint64, len(bufs))
	for i, b := range bufs {
		out[i] = b.max
	}
	return out
}
