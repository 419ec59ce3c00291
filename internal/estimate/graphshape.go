package estimate

// graphShapeFor turns the summary, the architecture profile and the engine
// path into the one graph builder's input (computegraph.go). Architecture
// differences arrive here as data: MoE widths, shared experts, leading dense
// blocks, recurrent layers and their dims, MLA ranks, gemma's extra norms,
// the sliding-window mask, and how many rows reach the output projection.
func graphShapeFor(in Input, p archProfile, path string, l ctxLayout, cl cacheLayout, flash bool) graphShape {
	s := in.Summary
	a := s.Arch
	rec := recurrentLayers(s, p)
	hkv := make([]int, s.BlockCount)
	for i := range hkv {
		hkv[i] = headKV(s, i)
		if rec[i] {
			hkv[i] = 0
		}
	}
	ff := s.FeedForwardLength
	if ff == 0 && a.FeedForwardPerLayer == nil {
		ff = 4 * s.EmbeddingLength
	}
	sh := graphShape{nEmbd: s.EmbeddingLength, nFF: ff, nVocab: s.VocabSize, nHead: s.HeadCount,
		headKV: hkv, keyLen: keyLen(s), valLen: valLen(s), nTok: l.NUbatch, nKV: cl.cells,
		nStream: l.NSeq, flashAttn: flash, expertUsed: s.ExpertUsedCount, nExpert: s.ExpertCount,
		slidingLayers: s.SlidingLayers, nFFExp: a.ExpertFFLength, gemmaNorms: p.gemmaNorms, fused: p.fused, residualFirst: p.residualFirst, embedScale: p.embedScale, qkNorm: p.qkNorm}
	// what the scheduler replay copies between devices (sched.go)
	sh.layerBytes = s.LayerBytes
	sh.expertLayerBytes = s.ExpertLayerBytes
	sh.embBytes = s.TokenEmbdBytes
	sh.outBytes = s.OutputBytes - min(s.OutputBytes, uint64(4*s.EmbeddingLength)) // output_norm is F32
	if s.OutputTied {
		sh.outBytes = s.TokenEmbdBytes // the output matmul reads (a copy of) token_embd
	}
	sh.kvLayerBytes = cl.perLayer
	sh.qkvBias = s.Architecture == "qwen2" // llm_build_qwen2: bq, bk, bv
	if (s.Architecture == "gpt-oss" || s.Architecture == "gptoss") && path != PathOllamaEngine {
		// llm_build_openai_moe_iswa (src/models/openai-moe-iswa.cpp): bq, bk,
		// bv, bo and the attention sinks
		sh.qkvBias, sh.outBias, sh.attnSinks = true, true, true
	}
	// llm_build_openai_moe: build_moe_ffn with up/gate/down expert biases
	sh.expertBias = s.Architecture == "gpt-oss" && path != PathOllamaEngine
	sh.rsGather = path != PathOllamaEngine // llama.cpp's build_rs (llama-graph.cpp)
	if s.Architecture == "granitehybrid" && path != PathOllamaEngine {
		// src/models/granite-hybrid.cpp: the multipliers when set (its
		// build_moe_ffn arguments are in moeRoutes)
		sh.embedScale = a.EmbeddingScale != 0
		sh.residualScale = a.ResidualScale != 0
	}
	if cl.swaCells > 0 {
		// llama.cpp's iswa cache feeds the sliding layers their own mask input
		// (llm_graph_input_attn_kv_iswa: self_kq_mask_swa), sized by the SWA
		// cache, even when swa_full makes it as large as the main one.
		sh.swaCells = cl.swaCells
	}
	if p.hybrid {
		sh.slidingLayers = nil
		sh.swaCells = 0
	}
	if path == PathOllamaEngine {
		// runner/ollamarunner reserveWorstCaseGraph: one sequence of a full
		// batch over the whole cache, outputs = parallel rows.
		sh.nStream = 1
		sh.nOut = max(l.NSeq, 1)
		sh.maskF16 = true
		sh.embedDup = p.ollamaEmbedDup
		sh.qkNormFull = p.qkNormFull
		if s.Architecture == "gptoss" || s.Architecture == "gpt-oss" {
			// model/models/gptoss/model.go: q/k/v/output biases, attention
			// sinks, expert biases (AddID); at partial offload each is an op
			// on a host weight that the first GPU takes (its node list)
			sh.qkvBias, sh.outBias, sh.attnSinks, sh.expertBias = true, true, true, true
		}
		// a WrapperCache (gemma3, gpt-oss) builds one mask per sub-cache, so
		// the sliding layers have their own mask even when it is full size
		// (kvcache/wrapper.go StartForward).
	}
	if s.ExpertCount > 0 {
		if path != PathOllamaEngine {
			sh.route = moeRouteFor(s) // build_moe_ffn's arguments (moeroute.go)
		}
		if a.ExpertSharedFFLength > 0 {
			sh.nFFShared = a.ExpertSharedFFLength
		} else if a.ExpertSharedCount > 0 {
			sh.nFFShared = a.ExpertSharedCount * max(a.ExpertFFLength, 1)
		}
		if a.LeadingDenseBlocks > 0 {
			sh.denseLayers = make([]bool, s.BlockCount)
			for i := 0; i < min(a.LeadingDenseBlocks, s.BlockCount); i++ {
				sh.denseLayers[i] = true
			}
		}
	}
	if a.FeedForwardPerLayer != nil {
		sh.nFFLayer = a.FeedForwardPerLayer
	}
	if p.state != stateNone {
		sh.recurrent = rec
		sh.state = p.state
		conv, st := stateRowElems(s, p, path == PathOllamaEngine)
		d := stateGraph{convK: max(a.SSMConvKernel, a.ShortConvLCache), inner: a.SSMInnerSize,
			stateElems: int(st) * max(l.NSeq, 1), heads: a.SSMTimeStepRank,
			mamba2: p.state == stateMamba && a.SSMGroupCount > 0}
		switch p.state {
		case stateShortConv:
			d.convCh = s.EmbeddingLength
			d.inProj = 3 * s.EmbeddingLength
		default:
			d.convCh = a.SSMInnerSize + 2*a.SSMGroupCount*a.SSMStateSize
			d.inProj = 2*a.SSMInnerSize + 2*a.SSMGroupCount*a.SSMStateSize + a.SSMTimeStepRank
			if d.convK > 1 && conv > 0 {
				d.convCh = int(conv) / (d.convK - 1)
			}
		}
		sh.stateDims = d
	}
	if p.mla && a.KVLoraRank > 0 {
		m := &mlaGraph{qLora: a.QLoraRank, kvLora: a.KVLoraRank, rope: a.RopeDim,
			absorbed: a.KeyLengthMLA > 0, vHead: a.ValueLengthMLA, nope: max(a.KeyLengthMLA-a.RopeDim, 0)}
		sh.mla = m
	}
	return sh
}
