package estimate

// computeGraphBytes builds the worst-case prompt-processing graph llama.cpp
// reserves at load time for a llama-style decoder (attention + gated FFN, as in
// llama.cpp's llm_build_llama and build_attn_mha) and returns the compute
// buffer the graph allocator needs for it on one device.
//
// nTok is n_ubatch (min(n_ubatch, n_ctx)), nKV the cells per stream (n_ctx_seq),
// nStream the parallel sequences (llama.cpp keeps one KV stream per sequence
// unless kv_unified), nOut the outputs (= nTok for the reserve graph).
type graphShape struct {
	nEmbd, nFF, nVocab  int
	nHead               int
	headKV              []int // per layer KV heads
	keyLen, valLen      int
	nTok, nKV, nStream  int
	flashAttn           bool
	expertUsed, nExpert int // MoE: >0 replaces the FFN by nExpert-used experts
	slidingLayers       []bool
	swaCells            int
	outputAbsent        bool // no output matmul (embedding-only models)

	// Architecture parts (from the profile, see graphShapeFor).
	nFFExp      int    // expert FFN width (expert_feed_forward_length; 0 = nFF)
	nFFShared   int    // shared-expert FFN width (0 = none)
	expertBias  bool   // llama.cpp gpt-oss: ggml_add_id of each expert matrix's bias (build_moe_ffn)
	rsGather    bool   // llama.cpp: a recurrent layer gathers its conv states by s_copy_main (build_rs)
	denseLayers []bool // MoE model: this layer has a dense FFN (leading_dense_block_count)
	nFFLayer    []int  // per-layer dense FFN width (nemotron_h), 0 = no FFN
	recurrent   []bool // layer is a recurrent (state) layer
	state       string // recurrent kind
	stateDims   stateGraph
	mla         *mlaGraph
	route       *moeRoute // llama.cpp's build_moe_ffn arguments (moeroute.go); nil = Ollama's engine
	gemmaNorms  bool      // post-attention and post-FFN norms
	fused       bool      // fused QKV projection and fused up+gate FFN (phi3)
	// residualFirst: l_out = residual + FFN output in that operand order
	// (profile.residualFirst)
	residualFirst bool
	embedDup      bool // the token embeddings are copied before the first layer (Ollama's mistral3, llama4)
	nOut          int  // rows of the output projection (0 = nTok; Ollama's engine: parallel)
	qkvBias       bool // q/k/v biases added after the projections (qwen2, gpt-oss)
	outBias       bool // the attention output's bias (gpt-oss: build_attn's wo_b)
	attnSinks     bool // attention sinks read by the attention op (gpt-oss)
	// embedScale: the token embeddings are scaled before the first block —
	// gemma by √n_embd (profile.embedScale), granite by its embedding_scale
	// (llama.cpp src/models/granite-hybrid.cpp and llama-graph.cpp
	// build_inp_embd). residualScale (granite): residual_scale scales each
	// block's attention/Mamba output and its FFN output. Both are ggml_scale:
	// in place unless the source is an output (under pipeline parallelism the
	// embeddings' copy is one).
	embedScale, residualScale bool

	// Bytes of the weights and cache the ops read, for the scheduler's copies
	// (sched.go): per block as stored (LayerBytes), the output matrix (the
	// token embeddings when tied), the token embeddings, and each block's KV
	// cache (K and V together, all streams).
	layerBytes         []uint64
	expertLayerBytes   []uint64 // of which expert tensors (gguf.Summary.ExpertLayerBytes)
	outBytes, embBytes uint64
	kvLayerBytes       []uint64
	kvBPE              float64 // quantized KV cache: bytes per element (0 = F16/F32)
	// maskF16: Ollama's engine. With flash attention the mask reaches the
	// graph as one F16 tensor (buildMask casts its F32 input, which has its
	// own buffer, to CacheConfig's MaskDType F16); without it the F32 mask is
	// outside the graph's allocation (but copied into every GPU that reads it).
	maskF16 bool
	// qkNorm: Q and K are normed per head before RoPE (profile.qkNorm:
	// llama.cpp build_norm(Qcur, attn_q_norm); Ollama's QueryNorm/KeyNorm in
	// model/models/qwen3, gemma3, lfm2): an rms_norm and a multiply by a
	// [head_dim] F32 weight each, which at partial offload are ops on host
	// weights too. qkNormFull (Ollama's engine): the norm is over the whole
	// projection, before the per-head reshape (model/models/olmo3: QNorm of
	// [n_head × head_dim] weights; profile.qkNormFull).
	qkNorm, qkNormFull bool
}

// stateGraph is the size of a recurrent layer's activations (llama.cpp
// build_mamba2_layer / build_shortconv_block; Ollama's nemotronh/lfm2).
type stateGraph struct {
	inProj, convCh, convK, inner, stateElems int
	heads                                    int  // Mamba-2 heads (ssm.time_step_rank): dt's width
	mamba2                                   bool // llama.cpp build_mamba2_layer (ssm.group_count set)
}

// mlaGraph: deepseek2's latent attention (llama.cpp llm_build_deepseek2).
type mlaGraph struct {
	qLora, kvLora, rope, nope, vHead int
	absorbed                         bool // MLA file: attention runs over the latent (key_length_mla set)
}

func computeGraphBytes(s graphShape) uint64 {
	return cachedGraphBytes(s, func(s graphShape) uint64 {
		g := buildGraph(s)
		if g == nil {
			return 0
		}
		return g.peak()
	})
}

// buildGraph builds the reserve graph of s. Every weight and KV-cache tensor
// an op reads is its own leaf carrying its layer (-1 = the input layer, n_layer
// = the output layer) and its size, so that the scheduler replay (sched.go)
// can place each op where ggml's scheduler would and copy what it copies.
func buildGraph(s graphShape) *graph {
	if s.nTok <= 0 || s.nEmbd <= 0 || len(s.headKV) == 0 {
		return nil
	}
	g := &graph{rows: s.nTok, nTok: s.nTok, cur: -1}
	// W is a weight matrix of layer g.cur, rows of ne0 elements (ne0 × n at the
	// layer's bytes per weight, see setWeightSizes); N a small F32 weight
	// (norm, bias).
	W := func(ne0, n int) *gtensor { return g.weight(uint64(max(ne0*n, 0)), false, ne0) }
	N := func(elems int) *gtensor { return g.weight(uint64(max(elems, 0)), true, elems) }
	f32 := func(n ...int) uint64 {
		v := uint64(4)
		for _, x := range n {
			v *= uint64(x)
		}
		return v
	}
	T, E := s.nTok, s.nEmbd
	ns := max(s.nStream, 1)
	in := func(size uint64) *gtensor { return &gtensor{size: size, input: true} }
	if s.maskF16 {
		// Ollama's engine: ctx.Input() tensors (tokens, positions, cache
		// locations, the mask, output rows) each get their own buffer of the
		// CPU's buffer type (ml/backend/ggml/ggml.go Context.Input → newTensor:
		// ggml_backend_buft_alloc_buffer), never the graph allocator's: leafs
		// on the CPU that a GPU reading them copies into its compute buffer
		// (a split input, sched.go).
		in = func(size uint64) *gtensor { return &gtensor{ext: true, layer: -1, size: size} }
	}

	tokens := in(uint64(T) * 4)
	cur := g.getRows(f32(E, T), W(E, s.nVocab), tokens) // get_rows(tok_embd)
	if s.embedScale {
		cur = g.op(cur.size, true, cur) // build_inp_embd: ggml_scale(f_embedding_scale)
	}
	if s.embedDup {
		cur = g.op(f32(E, T), false, cur) // Duplicate: GGML_OP_DUP, never in place
	}
	pos := in(uint64(T) * 4)
	kIdx := in(uint64(T) * 8)
	// Without flash attention the V cache is transposed and set_rows writes it
	// element by element: v_idxs holds one index per value element.
	vIdxLen := uint64(T) * 8
	if !s.flashAttn {
		vIdxLen *= uint64(maxInt(s.headKV) * s.valLen)
	}
	vIdx := in(vIdxLen)
	if s.maskF16 {
		// Ollama's engine: one [batch] I32 of cache locations for K and V
		// (kvcache/causal.go: curLoc, read by both SetRows in Put)
		kIdx = in(uint64(T) * 4)
		vIdx = kIdx
	}
	// llama.cpp's iswa cache gives each of its two caches its own k/v index
	// inputs (llm_graph_input_attn_kv_iswa: self_k_idxs / self_k_idxs_swa);
	// small, but as graph leafs they are allocated first and where they sit
	// decides which freed regions later tensors can reuse.
	var kIdxSWA, vIdxSWA *gtensor
	maskFor := func(cells int) (*gtensor, *gtensor) {
		if s.maskF16 {
			// Ollama's engine: the F32 mask, [cache cells, batch], is an
			// Input() tensor with its own buffer (kvcache/causal.go buildMask);
			// with flash attention its F16 cast is a graph node, allocated
			// where the first attention reads it.
			m := in(f32(cells, T))
			if s.flashAttn {
				return m, nil
			}
			return m, m
		}
		m := in(f32(cells, T/ns*ns))
		if s.flashAttn {
			return m, nil // cast created lazily at first use (graph order)
		}
		return m, m
	}
	maskF, maskUse := maskFor(s.nKV)
	var swaF, swaUse *gtensor
	outIDs := in(uint64(T) * 4)

	nL := len(s.headKV)
	var sCopy *gtensor  // s_copy_main: one input for every recurrent layer (build_rs_inp_impl)
	var sExtra *gtensor // Mamba-2: s_copy_extra, the empty second view of s_copy
	for il := 0; il < nL; il++ {
		g.cur = il
		isRec := il < len(s.recurrent) && s.recurrent[il]
		var convState *gtensor
		if isRec && s.rsGather && s.state != stateShortConv {
			// llama.cpp's build_rs (llama-graph.cpp): clear one state in
			// place, then gather the layer's conv states by s_copy_main. Both
			// are explicit ggml_build_forward_expand calls, while the previous
			// block's tail (its experts' sum, shared expert, residual) is only
			// reached later from this block's conv write: so in ggml's node
			// order they come right after the previous block's last explicit
			// expand (g.mark: its experts' views in build_moe_ffn, its cache
			// or state writes), and the first block's before the embeddings.
			// Over two devices the previous block's tail then runs on this
			// block's device (the rig's GGML_SCHED_DEBUG=2 node list).
			n0 := len(g.nodes)
			d := s.stateDims
			if d.mamba2 {
				// s_copy (one I32 per state cell of the ubatch) is read
				// through two views, s_copy_main and s_copy_extra (the states
				// beyond the ubatch's sequences: none in the reserve), each a
				// split input of its own; the empty gather and its copy back
				// are zero-byte tensors, which ggml-alloc still allocates and
				// frees (a zero-size free block changes later merges)
				if sCopy == nil {
					sIn := in(uint64(4 * ns))
					sCopy, sExtra = g.viewOf(sIn), g.viewOf(sIn)
					sExtra.size = 0
				}
				g.setRows(il) // ggml_scale_inplace(state_zero, 0)
				convState = g.getRows(uint64(4*d.convCh*max(d.convK-1, 0)*ns), g.cache(il, 0), sCopy)
				g.setRows(il, g.getRows(0, g.cache(il, 0), sExtra)) // cpy(get_rows(states, s_copy_extra), s view)
				g.moveToMark(n0)
			} else {
				g.setRows(il) // ggml_scale_inplace(state_zero, 0)
				if sCopy == nil {
					sCopy = in(uint64(4 * ns))
				}
				convState = g.getRows(uint64(4*d.convCh*max(d.convK-1, 0)*ns), g.cache(il, 0), sCopy)
			}
		}
		inpSA := cur
		norm := g.rmsNorm(f32(E, T), cur)
		norm = g.op(f32(E, T), true, norm, N(E)) // * attn_norm weight
		qd := s.nHead * s.keyLen
		kvh := s.headKV[il]
		if isRec {
			cur = recurrentBlock(g, s, norm, W, N, convState, sCopy, sExtra)
			if kvh > 0 { // falcon-h1 style layers also attend; not modelled apart
				kvh = 0
			}
		}
		if kvh > 0 {
			var q, kSrc, vSrc *gtensor
			// rope of a projection reshaped to heads: a view, so ggml-alloc
			// gives it fresh memory; with per-head q/k norms (qkNorm: qwen3,
			// gemma3, …: build_norm(Qcur, attn_q_norm) before the rope) the
			// rms_norm of the view takes the fresh memory and the weight's
			// mul and the rope run in place.
			rope := func(x *gtensor) *gtensor {
				if !s.qkNorm {
					return g.op(x.size, true, g.viewOf(x), pos)
				}
				n := g.rmsNorm(x.size, g.viewOf(x))
				n = g.op(x.size, true, n, N(s.keyLen))
				return g.op(x.size, true, n, pos)
			}
			kI, vI := kIdx, vIdx
			if s.slidingLayers != nil && il < len(s.slidingLayers) && s.slidingLayers[il] && s.swaCells > 0 {
				if kIdxSWA == nil {
					// Ollama's engine: the WrapperCache's sliding cache has its
					// own curLoc (kvcache/wrapper.go, causal.go)
					kIdxSWA, vIdxSWA = in(kIdx.size), in(vIdx.size)
					if s.maskF16 {
						vIdxSWA = kIdxSWA
					}
				}
				kI, vI = kIdxSWA, vIdxSWA
			}
			if m := s.mla; m != nil && m.absorbed {
				// llama.cpp src/models/deepseek2.cpp, MLA path: q (through the
				// q-LoRA when present), the compressed KV + RoPE part, its norm,
				// q_nope absorbed into the latent, Q/K concatenated with RoPE.
				// build_attn expands Q's subgraph first, then K's (llama-graph.cpp)
				qIn, qInDim := norm, E
				if m.qLora > 0 {
					qa := g.op(f32(m.qLora, T), false, W(E, m.qLora), norm)
					qIn, qInDim = g.op(qa.size, true, qa, N(m.qLora)), m.qLora // q_a norm
				}
				qf := g.op(f32(s.nHead*(m.nope+m.rope), T), false, W(qInDim, s.nHead*(m.nope+m.rope)), qIn)
				qpe := g.op(f32(m.rope, s.nHead, T), false, g.viewOf(qf), pos)
				qabs := g.op(f32(m.kvLora, s.nHead, T), false, W(m.nope, m.kvLora*s.nHead), g.viewOf(qf))
				q = g.op(f32(m.kvLora+m.rope, s.nHead, T), false, qpe, g.viewOf(qabs))
				kva := g.op(f32(m.kvLora+m.rope, T), false, W(E, m.kvLora+m.rope), norm)
				var kpe, kvn *gtensor
				normKV := func() {
					kvn = g.op(f32(m.kvLora, T), false, g.viewOf(kva))
					kvn = g.op(kvn.size, true, kvn, N(m.kvLora))
				}
				if s.maskF16 {
					kpe = g.op(f32(m.rope, T), false, g.viewOf(kva), pos)
					normKV()
					kSrc = g.op(f32(m.kvLora+m.rope, T), false, kpe, kvn)
				} else {
					// deepseek2.cpp: the rig's node list has the latent's norm
					// (RMS_NORM, MUL) before k_pe's rope, then concat(k_pe, kv_cmpr)
					normKV()
					kpe = g.op(f32(m.rope, T), false, g.viewOf(kva), pos)
					kSrc = g.op(f32(m.kvLora+m.rope, T), false, kpe, kvn)
				}
				vSrc = g.viewOf(kvn)
			} else if s.maskF16 {
				// Ollama's engine: the node list it reserves (GGML_SCHED_DEBUG=2,
				// qwen3/qwen3moe/gemma3/gpt-oss) has Q, then K, then V, then the
				// two cache writes (kvcache/causal.go Put) and the attention, as
				// llama.cpp; only the inputs and the mask differ (see in, maskFor)
				// (ml/nn/attention.go: Forward(query), then key and value)
				rope := func(t *gtensor) *gtensor {
					switch {
					case s.qkNormFull:
						// rms_norm and its weight in place, RoPE of the
						// per-head view (fresh memory)
						t = g.op(t.size, true, t)
						t = g.op(t.size, true, t, N(int(t.size/4/uint64(T))))
					case s.qkNorm:
						// rms_norm of the per-head view (fresh memory), its
						// weight, then RoPE in place
						t = g.op(t.size, true, g.viewOf(t))
						t = g.op(t.size, true, t, N(s.keyLen))
						return g.op(t.size, true, t, pos)
					}
					return g.op(t.size, true, g.viewOf(t), pos)
				}
				bias := func(t *gtensor, n int) *gtensor {
					if !s.qkvBias {
						return t
					}
					return g.op(t.size, true, t, N(n))
				}
				q = rope(bias(g.op(f32(qd, T), false, W(E, qd), norm), qd))
				kSrc = rope(bias(g.op(f32(kvh*s.keyLen, T), false, W(E, kvh*s.keyLen), norm), kvh*s.keyLen))
				v := bias(g.op(f32(kvh*s.valLen, T), false, W(E, kvh*s.valLen), norm), kvh*s.valLen)
				vSrc = g.viewOf(v)
			} else if s.fused {
				// phi3.cpp: one wqkv product; Q, K, V are views of it, and
				// rope writes fresh tensors (ggml-alloc never reuses a view).
				qkv := g.op(f32(qd+kvh*(s.keyLen+s.valLen), T), false, W(E, qd+kvh*(s.keyLen+s.valLen)), norm)
				q = g.op(f32(qd, T), true, g.viewOf(qkv), pos)
				kSrc = g.op(f32(kvh*s.keyLen, T), true, g.viewOf(qkv), pos)
				vSrc = g.viewOf(qkv)
			} else {
				// graph order follows build_attn's explicit expands (below);
				// qwen2's biases are added in place (llm_build_qwen2)
				bias := func(t *gtensor, n int) *gtensor {
					if !s.qkvBias {
						return t
					}
					return g.op(t.size, true, t, N(n))
				}
				q = bias(g.op(f32(qd, T), false, W(E, qd), norm), qd)
				q = rope(q)
				kv := func() {
					k := bias(g.op(f32(kvh*s.keyLen, T), false, W(E, kvh*s.keyLen), norm), kvh*s.keyLen)
					kSrc = rope(k)
				}
				if s.swaCells == 0 {
					// build_attn over a plain KV cache (llm_graph_input_attn_kv)
					// expands q, v, then k ("expand k later to enable rope
					// fusion"); the iswa one q, k, v. Equal K and V sizes do
					// not make the order free: K's rope is a new tensor (its
					// source is a view), so V allocated first keeps K's rope
					// out of the place K's matmul frees
					v := bias(g.op(f32(kvh*s.valLen, T), false, W(E, kvh*s.valLen), norm), kvh*s.valLen)
					vSrc = g.viewOf(v)
					kv()
				} else {
					kv()
					v := bias(g.op(f32(kvh*s.valLen, T), false, W(E, kvh*s.valLen), norm), kvh*s.valLen)
					vSrc = g.viewOf(v)
				}
			}
			if kSrc != nil {
				g.setRows(il, g.viewOf(kSrc), kI) // set_rows into the cache
				g.setRows(il, g.viewOf(vSrc), vI)
				g.mark = len(g.nodes) // build_attn expands the cache writes
			}
			mf, mu, cells := maskF, &maskUse, s.nKV
			if s.slidingLayers != nil && il < len(s.slidingLayers) && s.slidingLayers[il] && s.swaCells > 0 {
				if swaF == nil {
					swaF, swaUse = maskFor(s.swaCells)
				}
				mf, mu, cells = swaF, &swaUse, s.swaCells
			}
			if *mu == nil { // FA: ggml_cast(mask, F16) at first use
				*mu = g.op(uint64(cells)*uint64(T/ns*ns)*2, false, mf)
			}
			qp := g.viewOf(q)
			// the layer's K and V cache views (the whole reserved cache)
			kc, vc := g.cache(il, s.kvViewBytes(il, true)), g.cache(il, s.kvViewBytes(il, false))
			kc.ne0, kc.bpe, vc.ne0, vc.bpe = s.keyLen, s.kvBPE, s.valLen, s.kvBPE
			var att *gtensor
			var sinks *gtensor
			if s.attnSinks {
				// gpt-oss: the attention reads attn_sinks (F32, one per head;
				// ggml_flash_attn_ext_add_sinks / ggml_soft_max_add_sinks), a
				// weight: in host memory it starts a new split (sched.go pass 5)
				sinks = N(s.nHead)
			}
			if s.flashAttn {
				att = g.op(f32(s.valLen*s.nHead, T), false, qp, kc, vc, *mu, sinks)
			} else {
				kq := g.op(f32(cells, T, s.nHead), false, kc, qp)
				kq = g.op(kq.size, true, kq, *mu, sinks) // soft_max_ext, in place
				kqv := g.op(f32(s.valLen, T, s.nHead), false, vc, kq)
				if s.mla != nil && s.mla.absorbed {
					// MLA: v_mla multiplies kqv as it is and the permute's cont
					// comes after it (llama-graph.cpp build_attn_mha: kqv_mla,
					// then cont_2d; Ollama's node list the same)
					att = kqv
				} else {
					att = g.op(kqv.size, false, g.viewOf(kqv)) // cont_2d(permute)
				}
			}
			if s.mla != nil && s.mla.absorbed {
				up := g.op(f32(s.mla.vHead, s.nHead, T), false, W(s.mla.kvLora, s.mla.vHead*s.nHead), g.viewOf(att)) // mul_mat(v_mla)
				att = g.op(up.size, false, g.viewOf(up))                                                             // cont(permute)
			}
			cur = g.op(f32(E, T), false, W(int(att.size/4/uint64(T)), E), g.viewOf(att)) // wo
			if s.outBias {
				cur = g.op(cur.size, true, cur, N(E)) // build_attn: + wo_b
			}
		} else if !isRec {
			cur = norm // layer without attention: modelled as pass-through
		}
		// gemma's post-attention norm: Ollama's engine applies it before
		// selecting the output rows (model/models/gemma3/model_text.go,
		// gemma2/model.go), llama.cpp after (models/gemma3.cpp,
		// gemma2-iswa.cpp: get_rows, then build_norm), and there the graph
		// reaches the residual's get_rows through the add's second operand,
		// after the norm: get_rows(cur), norm, get_rows(inpL), add.
		postNorm := func(rows int) {
			cur = g.rmsNorm(f32(E, rows), cur)
			cur = g.op(f32(E, rows), true, cur, N(E))
		}
		llamaOrder := s.gemmaNorms && !s.maskF16 && il == nL-1
		if s.gemmaNorms && !llamaOrder && kvh > 0 {
			postNorm(T)
		}
		rows := T
		if il == nL-1 {
			if s.nOut > 0 {
				rows = min(s.nOut, T)
			}
			if s.maskF16 && s.nOut > 0 {
				// Ollama's engine: Rows(outputs) with outputs = [parallel]
				// indices, also in the one-token reserve (runner/ollamarunner
				// reserveWorstCaseGraph: Empty(I32, parallel))
				rows = s.nOut
			}
			cur = g.getRows(f32(E, rows), cur, outIDs)
			if llamaOrder && kvh > 0 {
				postNorm(rows)
			}
			if s.residualScale {
				cur = g.op(cur.size, true, cur)
			}
			inpSA = g.getRows(f32(E, rows), inpSA, outIDs)
			g.rows = rows
		} else if s.residualScale {
			cur = g.op(cur.size, true, cur) // granite's build_layer_ffn: scale, then add
		}
		ffnInp := g.op(f32(E, rows), true, cur, inpSA)
		fn := g.rmsNorm(f32(E, rows), ffnInp)
		fn = g.op(f32(E, rows), true, fn, N(E))
		var out *gtensor
		dense := func(width int) *gtensor {
			if s.fused {
				up := g.op(f32(2*width, rows), false, ffnW(W(E, 2*width), ffnUp), fn)
				act := g.op(f32(width, rows), false, up) // swiglu of the halves
				return g.op(f32(E, rows), false, ffnW(W(width, E), ffnDown), act)
			}
			var up, gate *gtensor
			if s.maskF16 {
				// Ollama's engine: Gate.Forward(…).SILU(ctx, Up.Forward(…)):
				// the graph reaches the gate first (its node list)
				gate = g.op(f32(width, rows), false, ffnW(W(E, width), ffnGate), fn)
				up = g.op(f32(width, rows), false, ffnW(W(E, width), ffnUp), fn)
			} else {
				up = g.op(f32(width, rows), false, ffnW(W(E, width), ffnUp), fn)
				gate = g.op(f32(width, rows), false, ffnW(W(E, width), ffnGate), fn)
			}
			act := g.op(f32(width, rows), false, gate, up) // swiglu_split
			return g.op(f32(E, rows), false, ffnW(W(width, E), ffnDown), act)
		}
		ffw := s.nFF
		if il < len(s.nFFLayer) {
			ffw = s.nFFLayer[il]
		}
		switch {
		case s.expertUsed > 0 && !(il < len(s.denseLayers) && s.denseLayers[il]):
			out = moeFFN(g, s, fn, rows, W, N)
			if s.nFFShared > 0 {
				sh := dense(s.nFFShared)
				out = g.op(f32(E, rows), true, out, sh)
			}
		case ffw > 0:
			out = dense(ffw)
		default:
			out = fn // no FFN in this layer (Mamba / attention-only layers)
		}
		if s.gemmaNorms {
			out = g.rmsNorm(f32(E, rows), out)
			out = g.op(f32(E, rows), true, out, N(E))
		}
		if s.residualScale {
			out = g.op(out.size, true, out)
		}
		if s.residualFirst {
			cur = g.op(f32(E, rows), true, ffnInp, out)
		} else {
			cur = g.op(f32(E, rows), true, out, ffnInp)
		}
	}
	g.cur = nL
	// output_norm over the rows that are left (all of them in llama.cpp's
	// reserve, the output rows in Ollama's engine)
	norm := g.op(f32(E, g.rows), true, cur)
	norm = g.op(f32(E, g.rows), true, norm, N(E))
	norm.output = true
	if !s.outputAbsent {
		outRows := g.rows
		logits := g.op(f32(s.nVocab, outRows), false, W(E, s.nVocab), norm)
		logits.output = true
	}
	g.setWeightSizes(s)
	return g
}

// ffnPart names a FFN weight by the part of its tensor name the fit's
// override patterns match (llama_params_fit_impl get_overflow_pattern):
// ffn_up*, ffn_gate* (ffn_gate_inp, the router, included), ffn_down*.
type ffnPart uint8

const (
	ffnNone ffnPart = iota
	ffnUp
	ffnGate
	ffnDown
	ffnRouter // ffn_gate_inp
)

func ffnW(w *gtensor, p ffnPart) *gtensor {
	w.ffn = p
	return w
}

// moeFFN models llama.cpp's build_moe_ffn: router logits and probabilities per
// expert, then the selected experts' gate/up/down over the used experts. With
// s.route (llama.cpp) the ops between the router and the experts are the ones
// build_moe_ffn adds for the architecture's arguments (moeroute.go); without
// (Ollama's engine), its own node list.
func moeFFN(g *graph, s graphShape, in *gtensor, rows int, W func(ne0, n int) *gtensor, N func(int) *gtensor) *gtensor {
	f32 := func(a, b, c int) uint64 { return uint64(4 * a * b * c) }
	r := s.route
	// the router (ffn_gate_inp) stays F32: llama-quant.cpp never quantizes
	// it, so a copy of it to another device is 4 bytes per weight
	router := ffnW(N(s.nEmbd*s.nExpert), ffnRouter)
	router.ne0 = s.nEmbd
	logits := g.op(f32(s.nExpert, rows, 1), false, router, in)
	if r != nil && r.routerBias {
		logits = g.op(logits.size, true, logits, ffnW(N(s.nExpert), ffnRouter)) // + ffn_gate_inp_b
	}
	probs := logits // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX_WEIGHT: the logits as they are
	switch {
	case r == nil:
		probs = g.op(logits.size, false, logits) // Ollama's engine: its soft_max
	case r.gating != gatingSoftmaxWeight:
		probs = g.op(logits.size, true, logits) // soft_max / sigmoid (in place: ggml_op_can_inplace)
	}
	selIn := probs
	if r != nil && r.probsBias {
		selIn = g.op(probs.size, true, probs, N(s.nExpert)) // + exp_probs_b (DeepSeek V3)
	}
	// ggml_top_k is an argsort of all experts ([n_expert, rows] i32) viewed
	// down to the used ones (llama-graph.cpp build_moe_ffn; Ollama's TopK)
	sel := g.viewOf(g.op(uint64(4*s.nExpert*rows), false, selIn))
	var w *gtensor
	if r != nil {
		// llama.cpp expands the routing weights before the experts
		// (llama-graph.cpp build_moe_ffn: "call early so that topk-moe can be
		// used"); Ollama's engine reaches them only from the final multiply,
		// after the down projection (its node list).
		w = r.weights(g, g.getRows(f32(1, s.expertUsed, rows), g.viewOf(probs), sel), rows)
	}
	x := g.viewOf(in)
	ff := s.nFF
	if s.nFFExp > 0 {
		ff = s.nFFExp
	}
	X := func(ne0 int, part ffnPart) *gtensor { // the experts' stacked matrices
		w := ffnW(W(ne0, s.nEmbd*ff*s.nExpert/max(ne0, 1)), part)
		w.expert = true
		return w
	}
	// the experts' biases ([width, n_expert] F32, named ffn_*_exps.bias, so
	// --n-cpu-moe moves them with the experts): ggml_add_id, which ggml-alloc
	// runs in place when it can (ggml_op_can_inplace); CUDA's offload_op
	// counts its rows (get_op_batch_size: ggml_nrows, used experts × tokens)
	biased := func(t *gtensor, width int, part ffnPart) *gtensor {
		if !s.expertBias {
			return t
		}
		b := ffnW(N(width*s.nExpert), part)
		b.expert = true
		t = g.op(t.size, true, t, b, sel)
		t.batch = s.expertUsed * rows
		return t
	}
	mm := func(ne0, width int, part ffnPart, src *gtensor) *gtensor {
		return biased(g.op(f32(width, s.expertUsed, rows), false, X(ne0, part), src, sel), width, part)
	}
	var up, gate *gtensor
	if r != nil {
		// llama.cpp: the GLU reads (gate, up) and ggml_build_forward_expand
		// visits sources in order, so gate's matmul (and bias) comes first in
		// ggml's node order (the rig's GGML_SCHED_DEBUG=2 node list), and is
		// freed first, which decides how the freed blocks merge
		gate = mm(s.nEmbd, ff, ffnGate, x)
		up = mm(s.nEmbd, ff, ffnUp, x)
	} else {
		up = mm(s.nEmbd, ff, ffnUp, x)
		gate = mm(s.nEmbd, ff, ffnGate, x)
	}
	act := g.op(up.size, false, gate, up)
	down := mm(ff, s.nEmbd, ffnDown, act)
	if w == nil {
		w = g.op(f32(1, s.expertUsed, rows), false, g.viewOf(probs), sel)
	}
	exp := g.op(down.size, true, down, w)
	if s.rsGather && s.stateDims.mamba2 {
		// build_moe_ffn expands one view per used expert (experts->nb[2]
		// apart, so a copy to another device is about exp's size:
		// ggml_dup_tensor_layout) and sums them with n_expert_used−1 adds;
		// in ggml's node order the adds come only after the next block's
		// explicit expands (g.mark), which for a Mamba-2 block are its
		// build_rs ops: on two devices the sum runs on the next block's
		// device, with every view copied there
		used := max(s.expertUsed, 1)
		views := make([]*gtensor, used)
		for i := range views {
			views[i] = g.viewOf(exp)
			views[i].size = uint64(4 * s.nEmbd * (used*(rows-1) + 1))
		}
		g.mark = len(g.nodes)
		if used == 1 {
			return g.op(f32(s.nEmbd, rows, 1), false, views[0]) // ggml_cont
		}
		sum := g.op(f32(s.nEmbd, rows, 1), true, views[0], views[1])
		for _, v := range views[2:] {
			sum = g.op(sum.size, true, sum, v)
		}
		return sum
	}
	return g.op(f32(s.nEmbd, rows, 1), false, g.viewOf(exp))
}

// kvViewBytes is the size of layer il's K (or V) cache view that attention
// reads: the whole reserved cache of that layer, split between K and V by
// their head sizes.
func (s graphShape) kvViewBytes(il int, k bool) uint64 {
	if il >= len(s.kvLayerBytes) {
		return 0
	}
	b := s.kvLayerBytes[il]
	kl, vl := uint64(max(s.keyLen, 1)), uint64(max(s.valLen, 1))
	if s.mla != nil && s.mla.absorbed && s.maskF16 {
		return b // Ollama's engine, MLA: one latent cache read as K and V
	}
	// llama.cpp keeps a K and a V tensor per layer even for MLA (the latent +
	// RoPE part as K, the latent as V: llama-kv-cache.cpp get_k/get_v), so a
	// copy of a CPU layer's cache views to a GPU is K's and V's own size
	if k {
		return b * kl / (kl + vl)
	}
	return b - b*kl/(kl+vl)
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// recurrentBlock models a recurrent layer's activations: the input projection,
// the conv over [conv_kernel−1+T] columns, the scan/conv output, the gate and
// the output projection (llama.cpp build_mamba2_layer, build_shortconv_block;
// Ollama model/models/nemotronh, lfm2). The state itself lives in the cache.
func recurrentBlock(g *graph, s graphShape, in *gtensor, W func(ne0, n int) *gtensor, N func(int) *gtensor, convState, sCopy, sExtra *gtensor) *gtensor {
	T := s.nTok
	d := s.stateDims
	f32 := func(a, b int) uint64 { return uint64(4 * a * b) }
	if s.rsGather && d.mamba2 && convState != nil {
		return mamba2Block(g, s, in, W, N, convState, sCopy, sExtra)
	}
	proj := g.op(f32(d.inProj, T), false, W(s.nEmbd, d.inProj), in)
	// the conv reads the layer's conv state (a cache tensor) joined with x
	if convState == nil {
		convState = g.cache(g.cur, 0)
	}
	// one conv state of d_conv−1 columns per sequence of the ubatch
	// (build_mamba2_layer / build_shortconv_block: ggml_concat of
	// [d_conv−1, channels, n_seqs] and [n_seq_tokens, channels, n_seqs])
	conv := g.op(f32(d.convCh, T+max(d.convK-1, 0)*max(s.nStream, 1)), false, convState, g.viewOf(proj))
	if s.state != stateShortConv {
		// build_mamba2_layer copies the last d_conv−1 columns back into the
		// conv state (a cache write, on the cache's device): a view of
		// conv_x with its strides, so a copy of it to another device is
		// about conv_x's size (ggml_dup_tensor_layout)
		g.setRows(g.cur, g.viewOf(conv))
	}
	cx := g.op(f32(d.convCh, T), false, conv, N(d.convCh*max(d.convK, 1)))
	cx = g.op(cx.size, true, cx)
	var y *gtensor
	if s.state == stateShortConv {
		y = g.op(f32(d.convCh, T), false, cx, g.viewOf(proj))
	} else {
		// ggml_ssm_scan also reads the layer's A (ssm_a, a few F32 weights);
		// its result is one row (y and the final states flattened), and
		// CUDA's offload_op counts rows (get_op_batch_size: ggml_nrows), so at
		// partial offload the scan of a CPU layer stays on the CPU, with its
		// inputs copied there (the rig: the CPU's buffer 2× the graph inputs)
		// x, B and C are three strided views of xBC (each about its size
		// when copied to another device, ggml_dup_tensor_layout)
		scan := g.op(uint64(4*(d.inner*T+d.stateElems)), false, g.viewOf(cx), g.viewOf(cx), g.viewOf(cx), g.cache(g.cur, 0), N(1))
		scan.batch = 1
		g.setRows(g.cur, g.viewOf(scan)) // store the last states (ggml_cpy into the cache)
		z := g.op(f32(d.inner, T), false, g.viewOf(proj))
		y = g.op(f32(d.inner, T), false, g.viewOf(scan), z)
		y = g.op(y.size, true, y, N(d.inner)) // group norm
	}
	return g.op(f32(s.nEmbd, T), false, W(d.inner, s.nEmbd), y)
}

// mamba2Block is llama.cpp's build_mamba2_layer (src/models/graph-context-
// mamba.cpp) node by node, in ggml's order (GGML_SCHED_DEBUG=2 on the rig):
// in_proj; the conv input (the gathered conv states joined with xBC) and its
// last d_conv−1 columns written back; build_rs of the SSM state (its
// state_zero clear); ssm_conv, bias, silu; dt = cont(view) + dt_bias; the scan
// (reading the state, x/B/C views of xBC, dt, A and s_copy_main); the final
// states written back; y = scan + x·D, swiglu with cont(z), the grouped
// rms_norm over a reshape (a new tensor) times its weight, out_proj; the
// result is reshaped (a view, so the next op never reuses it in place).
func mamba2Block(g *graph, s graphShape, in *gtensor, W func(ne0, n int) *gtensor, N func(int) *gtensor, convState, sCopy, sExtra *gtensor) *gtensor {
	T := s.nTok
	d := s.stateDims
	f32 := func(a, b int) uint64 { return uint64(4 * a * b) }
	proj := g.op(f32(d.inProj, T), false, W(s.nEmbd, d.inProj), g.viewOf(in))
	// one conv state per sequence, as in recurrentBlock
	conv := g.op(f32(d.convCh, T+max(d.convK-1, 0)*max(s.nStream, 1)), false, g.viewOf(convState), g.viewOf(proj))
	g.setRows(g.cur, g.viewOf(conv)) // ggml_cpy(last_conv, conv_states_all view)
	g.setRows(g.cur)                 // build_rs of the SSM state: ggml_scale_inplace(state_zero)
	g.mark = len(g.nodes)
	cx := g.op(f32(d.convCh, T), false, conv, N(d.convCh*max(d.convK, 1))) // ssm_conv
	cx = g.op(cx.size, true, cx, N(d.convCh))                              // + conv1d bias
	cx = g.op(cx.size, true, cx)                                           // silu
	dt := g.op(f32(max(d.heads, 1), T), false, g.viewOf(proj))             // cont(dt)
	dt = g.op(dt.size, true, dt, N(max(d.heads, 1)))                       // + dt_bias
	// CUDA's offload_op counts rows (get_op_batch_size: ggml_nrows); the
	// scan's result is one row, so at partial offload the scan of a CPU
	// layer stays on the CPU with its inputs copied there
	scan := g.op(uint64(4*(d.inner*T+d.stateElems)), false, g.cache(g.cur, 0), g.viewOf(cx), dt, N(max(d.heads, 1)), g.viewOf(cx), g.viewOf(cx), sCopy)
	scan.batch = 1
	g.setRows(g.cur, g.getRows(0, g.cache(g.cur, 0), sExtra)) // build_rs: the extra states (none)
	g.setRows(g.cur, g.viewOf(scan))                          // store the last states (ggml_cpy into the cache)
	g.mark = len(g.nodes)
	z := g.op(f32(d.inner, T), false, g.viewOf(proj))           // cont(z)
	xd := g.op(f32(d.inner, T), true, g.viewOf(cx), N(d.heads)) // x · D
	yv := g.viewOf(scan)                                        // y: the scan's first d_inner × T floats
	yv.size = f32(d.inner, T)
	y := g.op(f32(d.inner, T), true, yv, xd) // y + x·D (in place of x·D)
	y = g.op(f32(d.inner, T), false, z, y)   // swiglu_split(cont(z), y)
	y = g.rmsNorm(y.size, g.viewOf(y))       // grouped rms_norm of a reshape
	y = g.op(y.size, true, y, N(d.inner))
	out := g.op(f32(s.nEmbd, T), false, W(d.inner, s.nEmbd), g.viewOf(y))
	return g.viewOf(out)
}

// moveToMark moves the nodes added since n0 to g.mark, where ggml's
// depth-first ggml_build_forward_expand puts them (see buildGraph), and
// advances the mark past them.
func (g *graph) moveToMark(n0 int) {
	if g.mark >= n0 {
		g.mark = len(g.nodes)
		return
	}
	moved := append([]*gtensor(nil), g.nodes[n0:]...)
	g.nodes = g.nodes[:n0]
	g.nodes = append(g.nodes[:g.mark], append(moved, g.nodes[g.mark:]...)...)
	g.mark += len(moved)
}
