package estimate

import "github.com/fitbench/fitbench/internal/gguf"

// Ollama's recurrent cache keeps, per recurrent layer and per sequence, the
// live state plus DefaultCheckpointCount (24) checkpoints, and the worst-case
// reserve allocates them all (kvcache/recurrent.go, recurrent_checkpoints.go
// reserveCheckpointConv/reserveCheckpointRecurrent loop over every slot and
// entry): 25 state slots per sequence.
const ollamaStateSlotsPerSeq = 1 + 24

// ollamaBatch is the batch Ollama sizes sliding-window caches with
// (runner/ollamarunner: num_batch 512, capped at num_ctx by llm/server.go).
func ollamaBatch(in Input, ctx int) int {
	b := in.NUbatch
	if b <= 0 {
		b = 512
	}
	return min(b, ctx)
}

// recurrentLayers marks the layers that carry recurrent state, by the
// profile's rule (llama-model.cpp load_hparams recurrent_layer_arr; Ollama's
// nemotronh/qwen3next/lfm2 New use the same rules).
func recurrentLayers(s gguf.Summary, p archProfile) []bool {
	out := make([]bool, s.BlockCount)
	if p.state == stateNone {
		return out
	}
	ff := func(i int) int {
		if i < len(s.Arch.FeedForwardPerLayer) {
			return s.Arch.FeedForwardPerLayer[i]
		}
		return s.FeedForwardLength
	}
	anyZero := false
	for i := range out {
		anyZero = anyZero || headKV(s, i) == 0
	}
	for i := range out {
		switch p.recurrentRule {
		case "all":
			out[i] = true
		case "kv0ff0":
			out[i] = headKV(s, i) == 0 && ff(i) == 0
		case "interval":
			if anyZero {
				out[i] = headKV(s, i) == 0
			} else {
				n := s.Arch.FullAttentionInterval
				if n <= 0 {
					n = 4 // llama-model.cpp: "TODO: extract the magic 4"
				}
				out[i] = (i+1)%n != 0
			}
		default: // "kv0"
			out[i] = headKV(s, i) == 0
		}
	}
	return out
}

// attentionLayers marks layers that hold a KV cache: a layer with KV heads that
// is not a recurrent layer.
func attentionLayers(s gguf.Summary, rec []bool) []bool {
	out := make([]bool, s.BlockCount)
	for i := range out {
		out[i] = headKV(s, i) > 0 && !rec[i]
	}
	return out
}

// stateRowElems is the recurrent state of one layer for one sequence, in F32
// elements: conv state and the recurrent (SSM / delta / wkv) state. Both
// engines use the same sizes: llama.cpp llama_hparams::n_embd_r/n_embd_s
// (llama-hparams.cpp); Ollama nemotronh (convDim×convChannels, dState×dInner),
// qwen3next (headVDim²×numVHeads = dState×dInner when headK = headV), lfm2
// (conv only, (l_cache−1)×n_embd).
func stateRowElems(s gguf.Summary, p archProfile, ollama bool) (conv, rec uint64) {
	a := s.Arch
	switch p.state {
	case stateShortConv:
		conv = uint64(max(a.ShortConvLCache-1, 0)) * uint64(s.EmbeddingLength)
		if !ollama {
			rec = 0 // n_embd_s = ssm_d_state*ssm_d_inner = 0 for LFM2
		}
		// Ollama's lfm2 never touches its 1-element recurrent buffer
		// (model/models/lfm2/shortconv.go uses ConvState only).
	case stateRWKV:
		shift := a.TokenShiftCount
		if shift == 0 {
			shift = 2
		}
		conv = uint64(shift) * uint64(s.EmbeddingLength)
		rec = uint64(s.EmbeddingLength) * uint64(a.WKVHeadSize)
	case stateMamba, stateDeltaNet:
		conv = uint64(max(a.SSMConvKernel-1, 0)) * uint64(a.SSMInnerSize+2*a.SSMGroupCount*a.SSMStateSize)
		rec = uint64(a.SSMStateSize) * uint64(a.SSMInnerSize)
	}
	return conv, rec
}

// cacheLayout is the KV/state model's result: bytes per layer (KV + state).
type cacheLayout struct {
	perLayer []uint64
	state    uint64 // of which recurrent state (reported in notes)
	// statePer is each layer's part of perLayer that is recurrent state
	// (llama.cpp's RS buffer), for llama_params_fit's probe (fit.go)
	statePer []uint64
	// cells the graph attends over on full and on sliding layers (reserve graph)
	cells, swaCells int
}

// cacheBytes is THE KV/state model: per-layer bytes of the KV cache and the
// recurrent state for the engine path, from the profile's layer kinds.
func cacheBytes(in Input, p archProfile, path string, lay ctxLayout, ctxSeq int, ct string, flash bool) cacheLayout {
	s := in.Summary
	rec := recurrentLayers(s, p)
	att := attentionLayers(s, rec)
	out := cacheLayout{perLayer: make([]uint64, s.BlockCount), statePer: make([]uint64, s.BlockCount)}
	if path == PathOllamaEngine {
		return ollamaCache(in, p, rec, att, lay, ctxSeq, ct, flash)
	}
	// llama.cpp (llama-kv-cache.cpp, llama-kv-cache-iswa.cpp,
	// llama-memory-hybrid.cpp, llama-memory-recurrent.cpp).
	swaFull := path == PathOllamaLlamaCpp // llama_context_default_params: swa_full = true; Ollama's runner keeps it
	sliding := func(i int) bool {
		return !p.hybrid && s.SlidingWindow > 0 && i < len(s.SlidingLayers) && s.SlidingLayers[i]
	}
	maxV := 0
	for i := 0; i < s.BlockCount; i++ {
		if att[i] {
			maxV = max(maxV, headKV(s, i)*valLen(s))
		}
	}
	cells, streams := lay.NCtxSeq, lay.NSeq
	if p.hybrid {
		// llama_memory_hybrid gets attn_kv_size = cparams.n_ctx (all sequences)
		// and still one stream per sequence (unified = false).
		cells = lay.NCtx
	}
	out.cells = cells
	for i := 0; i < s.BlockCount; i++ {
		if rec[i] {
			c, r := stateRowElems(s, p, false)
			b := (c + r) * 4 * uint64(max(lay.NSeq, 1)) // F32, mem_size = max(1, n_seq_max)
			out.perLayer[i] += b
			out.statePer[i] = b
			out.state += b
		}
		if !att[i] {
			continue
		}
		h := headKV(s, i)
		n := cells
		if sliding(i) {
			sw := pad(min(lay.NCtxSeq, s.SlidingWindow+lay.NUbatch), 256)
			if swaFull {
				sw = lay.NCtxSeq
			}
			n = sw
			out.swaCells = sw
		}
		vw := h * valLen(s)
		if !flash {
			vw = maxV
		}
		row := cacheRowBytes(ct, h*keyLen(s)) + cacheRowBytes(ct, vw)
		out.perLayer[i] += row * uint64(n) * uint64(streams)
	}
	return out
}

// ollamaCache is kvcache/causal.go Init + recurrent.go as Ollama's engine
// allocates: one cache of pad(num_ctx×parallel, 256) cells shared by all
// sequences (CachePadding 256 from ml/backend/ggml CacheConfig); a sliding
// layer holds parallel×memory + batch cells unless that reaches the per-slot
// capacity; V is never padded to the widest layer (each layer its own tensor).
func ollamaCache(in Input, p archProfile, rec, att []bool, lay ctxLayout, ctxSeq int, ct string, flash bool) cacheLayout {
	s := in.Summary
	par := max(lay.NSeq, 1)
	batch := ollamaBatch(in, ctxSeq)
	out := cacheLayout{perLayer: make([]uint64, s.BlockCount)}
	full := pad(ctxSeq*par, 256)
	out.cells = full
	swaCells := full
	window := s.SlidingWindow
	if p.ollamaFullCache {
		window = 0
	}
	if window > 0 {
		mem := window
		if p.ollamaSWAMemory > 0 {
			mem = max(mem, p.ollamaSWAMemory)
		}
		if par > 1 {
			mem = max(mem, window+1) // room for the stop token between sequences
		}
		if mem < ctxSeq {
			swaCells = pad(par*mem+batch, 256)
		}
	}
	slidingLayer := func(i int) bool {
		if window <= 0 {
			return false
		}
		if p.ollamaSWACadence > 0 {
			return (i+1)%p.ollamaSWACadence != 0
		}
		return i < len(s.SlidingLayers) && s.SlidingLayers[i]
	}
	for i := 0; i < s.BlockCount; i++ {
		if rec[i] {
			c, r := stateRowElems(s, p, true)
			b := (c + r) * 4 * uint64(par) * ollamaStateSlotsPerSeq
			out.perLayer[i] += b
			out.state += b
		}
		if !att[i] {
			continue
		}
		n := full
		if slidingLayer(i) {
			n = swaCells
			out.swaCells = swaCells
		}
		h := headKV(s, i)
		row := cacheRowBytes(ct, h*keyLen(s)) + cacheRowBytes(ct, h*valLen(s))
		out.perLayer[i] += row * uint64(n)
	}
	return out
}
