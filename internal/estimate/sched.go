package estimate

import "fmt"

// A replay of ggml's backend scheduler (ggml_backend_sched_split_graph in
// ggml/src/ggml-backend.cpp of the ggml vendored by Ollama v0.17.4) over the
// reserve graph of computegraph.go, followed by the allocator replay
// (galloc.go) with one buffer per backend. llama.cpp sizes every device's
// compute buffer this way (llama_context::graph_reserve → ggml_backend_sched_
// reserve → ggml_gallocr_reserve_n), so replaying the same placement, the
// same split-input copies and the same allocator gives each device's buffer:
//
//   - backends are the GPUs in order, then the CPU (lowest priority); each
//     GPU has its own buffer type (CUDA_ALIGNMENT 128), the CPU backend the
//     first GPU's host type (CUDA_Host, 32-byte alignment).
//   - user assignments first: llama_context pins each block's "norm" tensor
//     to the block's device at full offload or for batches under 32 tokens.
//   - pass 1: an op runs where the cache it writes lives (set_rows), else
//     where its first weight lives, except that an op on a weight in host
//     memory goes to the first GPU that offload_op accepts it (CUDA: a batch of
//     at least 32 rows; get_rows never) — op_offload, llama.cpp's default;
//     graph inputs are on the CPU.
//   - pass 2: GPU assignments expand down then up over unassigned ops (a CPU
//     op stops the expansion), then any assignment does.
//   - pass 3/4: what is left takes the backend with most of its inputs; views
//     and remaining sources take their source's or user's backend.
//   - pass 5: consecutive ops of one backend form a split; an op reading a
//     weight from another buffer starts a new split; every source in another
//     backend's buffer is copied into the split's backend (one copy per
//     tensor and backend), allocated at the start of the split and freed
//     after its last reader. Under pipeline parallelism (n_copies =
//     GGML_SCHED_MAX_COPIES = 4) the graph inputs and every split input get 4
//     copies each, allocated first and never freed. A quantized tensor copied
//     into a GPU gets CUDA's row padding.

// schedConf places a graph on devices.
type schedConf struct {
	nGPU   int
	dev    func(il int) int // backend of block il's weights and cache (nGPU = CPU); -1 = input layer, n_layer = output layer
	copies int              // n_copies
	// fullOffload: -ngl above n_layer. llama_context's graph callback then
	// pins every block's "norm" tensor to its block's device, as it does for
	// any batch under 32 tokens (llama-context.cpp graph_get_cb: "norm may be
	// automatically assigned to the backend of the previous layer").
	fullOffload bool
	nLayer      int
	// expertDev, when set, places block il's expert tensors (ffn_*_exps)
	// apart from the rest of the block (-ot / --n-cpu-moe); nil = with it.
	expertDev func(il int) int
	// tensorDev, when set, places single weights (-ot patterns matching part
	// of a block, llama_params_fit's partial layers): the backend, or -1 for
	// the default placement.
	tensorDev func(t *gtensor) int
	// engine: Ollama's own engine (ml/backend/ggml/ggml.go). Its scheduler
	// has no user assignments (nothing like llama_context's norm pinning),
	// and its first GPU (offload, the op_offload target) is the first of the
	// scheduler's GPUs in device order, which can differ from layer order.
	engine  bool
	offload int
}

// leafDev is the backend whose buffer holds a weight or cache leaf.
func (c schedConf) leafDev(t *gtensor) int {
	if c.tensorDev != nil {
		if d := c.tensorDev(t); d >= 0 {
			return d
		}
	}
	if t.expert && c.expertDev != nil {
		return c.expertDev(t.layer)
	}
	return c.dev(t.layer)
}

const (
	gpuAlign       = 128 // CUDA_ALIGNMENT (the simulated device uses it too)
	offloadMinRows = 32  // ggml_backend_cuda_device_offload_op: get_op_batch_size >= 32
	maxSplitInputs = 30  // GGML_SCHED_MAX_SPLIT_INPUTS
	cudaRowPad     = 512 // MATRIX_ROW_PADDING (ggml-cuda common.cuh)
)

// schedule assigns every node a backend, splits the graph, adds the copies and
// replays the allocator; it returns the compute buffer of every backend (GPUs
// first, the CPU last). g is consumed.
func (g *graph) schedule(c schedConf) []uint64 {
	cpu := c.nGPU
	nb := c.nGPU + 1
	copies := max(c.copies, 1)
	for _, n := range g.nodes {
		n.backend = -1
	}
	for _, n := range g.nodes {
		for _, s := range n.srcs {
			if s.input && !s.node {
				s.backend = cpu // graph inputs: 1.inp, the last backend
			}
		}
	}
	// backendOf is tensor_backend_id: leafs are placed by their buffer
	// (weights, cache) or are graph inputs (the CPU).
	backendOf := func(t *gtensor) int {
		if !t.node {
			if t.ext {
				return c.leafDev(t)
			}
			return cpu
		}
		return t.backend
	}
	// bufBackend is the backend whose buffer type holds t
	// (ggml_backend_sched_buffer_supported): only that backend supports it,
	// since every GPU has its own type and the CPU's host type is the CPU's.
	bufBackend := func(t *gtensor) int {
		if t.ext && !t.node {
			return c.leafDev(t)
		}
		if t.ext {
			return c.dev(t.layer)
		}
		b := backendOf(t)
		if b < 0 && t.view != nil {
			b = backendOf(t.view)
		}
		return b
	}
	isView := func(t *gtensor) bool { return t.view != nil }

	// user assignments (ggml_backend_sched_set_tensor_backend, kept by pass 1)
	pin := (c.fullOffload || g.nTok < offloadMinRows) && !c.engine
	// pass 1: ops with pre-allocated destinations or weights
	for _, n := range g.nodes {
		if pin && n.norm && n.layer >= 0 && n.layer < c.nLayer {
			n.backend = c.dev(n.layer)
			continue
		}
		if n.ext {
			n.backend = c.dev(n.layer) // 1.dst / 1.vsrc: writes into (or views) the cache
			continue
		}
		for _, s := range n.srcs {
			if !s.weight || s.node {
				continue
			}
			b := c.leafDev(s)
			if b == cpu && c.nGPU > 0 && !n.getRows && n.batch >= offloadMinRows {
				b = c.offload // 1.off: the first GPU takes ops on host weights
			}
			n.backend = b
			break
		}
	}
	// pass 2: expand GPU down and up, then anything down and up
	expand := func(order []*gtensor, gpuOnly bool) {
		cur := -1
		for _, n := range order {
			if isView(n) {
				continue
			}
			switch {
			case n.backend != -1:
				cur = n.backend
				if gpuOnly && cur == cpu {
					cur = -1
				}
			case cur != -1:
				n.backend = cur
			}
		}
	}
	rev := make([]*gtensor, len(g.nodes))
	for i, n := range g.nodes {
		rev[len(rev)-1-i] = n
	}
	expand(g.nodes, true)
	expand(rev, true)
	expand(g.nodes, false)
	expand(rev, false)
	// pass 3: an op still unassigned takes the backend holding most of its
	// inputs (the highest priority on a tie); no upgrade applies, the buffer
	// types all differ
	for _, n := range g.nodes {
		if isView(n) || n.backend != -1 {
			continue
		}
		best := -1
		for b := 0; b < nb; b++ {
			k := 0
			for _, s := range n.srcs {
				sb := backendOf(s)
				if sb == -1 && s.view != nil {
					sb = backendOf(s.view)
				}
				if sb != -1 && bufBackend(s) == b {
					k++
				}
			}
			if k > best {
				best, n.backend = k, b
			}
		}
	}
	// pass 4: views and sources left
	for _, n := range g.nodes {
		if n.view != nil && n.backend == -1 {
			n.backend = backendOf(n.view)
		}
		for _, s := range n.srcs {
			if !s.node || s.backend != -1 {
				continue
			}
			if s.view != nil {
				s.backend = backendOf(s.view)
			} else {
				s.backend = n.backend
			}
		}
		if n.backend == -1 {
			n.backend = 0
		}
	}

	// pass 5: splits and the copies of their inputs
	type split struct {
		backend    int
		start, end int
		inputs     []*gtensor
	}
	type key struct {
		t *gtensor
		b int
	}
	cp := map[key][]*gtensor{}
	var graphInputs []*gtensor
	var splits []*split
	var sp *split
	for i, n := range g.nodes {
		if isView(n) {
			continue
		}
		if sp == nil {
			sp = &split{backend: n.backend}
			splits = append(splits, sp)
		}
		cur := sp.backend
		newSplit := false
		if n.backend == cur && len(sp.inputs) > 0 {
			for _, s := range n.srcs {
				if s.weight && !s.node && backendOf(s) != cur && bufBackend(s) != cur {
					newSplit = true // the previous split's weight copies can be reused
					break
				}
				if len(sp.inputs) == maxSplitInputs && backendOf(s) != cur && cp[key{s, cur}] == nil && bufBackend(s) != cur {
					newSplit = true
					break
				}
			}
		}
		if n.backend != cur || newSplit {
			sp.end = i
			sp = &split{backend: n.backend, start: i}
			splits = append(splits, sp)
			cur = n.backend
		}
		for j, s := range n.srcs {
			sb := backendOf(s)
			if s.input && copies > 1 && cp[key{s, sb}] == nil {
				cs := make([]*gtensor, copies)
				s.output = true // ggml_set_output: never overwritten
				cs[0] = s       // the current copy is the tensor itself
				for k := 1; k < copies; k++ {
					cs[k] = &gtensor{size: s.size, input: true, output: true, backend: sb}
				}
				cp[key{s, sb}] = cs
				graphInputs = append(graphInputs, s)
			}
			if sb != cur && bufBackend(s) != cur {
				k := key{s, cur}
				if cp[k] == nil {
					cs := make([]*gtensor, copies)
					size := s.size
					if cur != cpu && !s.node && s.bpe > 0 && s.ne0%cudaRowPad != 0 {
						// ggml_backend_cuda_buffer_type_get_alloc_size: a quantized
						// tensor gets the rest of one row (MATRIX_ROW_PADDING)
						size += uint64(float64(cudaRowPad-s.ne0%cudaRowPad) * s.bpe)
					}
					for c := range cs {
						cs[c] = &gtensor{size: size, backend: cur, input: copies > 1, output: copies > 1}
					}
					cp[k] = cs
					sp.inputs = append(sp.inputs, s)
				}
				n.srcs[j] = cp[k][0]
			}
		}
	}
	if sp == nil {
		return make([]uint64, nb)
	}
	sp.end = len(g.nodes)
	if len(splits) > 0 {
		splits[0].start = 0
	}

	// the graph copy: each split's input dependencies and copies, then its nodes
	var nodes, leafs []*gtensor
	var starts map[int]string
	if schedTrace != nil {
		starts = map[int]string{}
	}
	for si, s := range splits {
		if starts != nil {
			var in []string
			for _, t := range s.inputs {
				in = append(in, traceKind(t)+" "+traceSize(t.size))
			}
			starts[len(nodes)] = fmt.Sprintf("#%d: b%d # %d inputs: %v", si, s.backend, len(s.inputs), in)
		}
		for _, in := range s.inputs {
			nodes = append(nodes, &gtensor{dep: true, srcs: []*gtensor{in}, backend: backendOf(in)})
			nodes = append(nodes, cp[key{in, s.backend}][0])
		}
		nodes = append(nodes, g.nodes[s.start:s.end]...)
	}
	if copies > 1 {
		for _, in := range graphInputs {
			leafs = append(leafs, cp[key{in, backendOf(in)}]...)
		}
		for _, s := range splits {
			for _, in := range s.inputs {
				leafs = append(leafs, cp[key{in, s.backend}]...)
			}
		}
	}
	g.nodes = nodes
	if starts != nil {
		traceNodes(schedTrace, nodes, starts)
	}
	align := make([]uint64, nb)
	for b := range align {
		align[b] = gpuAlign
	}
	align[cpu] = gallocAlign
	return g.peaks(leafs, align)
}

// scheduledCompute is every device's compute buffer for llama.cpp with the
// blocks placed by dev: the largest of the reserves llama_context makes (the
// prompt graph of n_ubatch tokens and the one-token-per-sequence graph).
func scheduledCompute(shape graphShape, c schedConf) []uint64 {
	out := make([]uint64, c.nGPU+1)
	tg := shape
	tg.nTok = max(shape.nStream, 1)
	for _, sh := range []graphShape{shape, tg} {
		g := buildGraph(sh)
		if g == nil {
			continue
		}
		for i, b := range g.schedule(c) {
			out[i] = max(out[i], b)
		}
	}
	return out
}
