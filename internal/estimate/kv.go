package estimate

import "github.com/fitbench/fitbench/internal/gguf"

// cacheRowBytes is the bytes of one cache row of n elements: ggml block types
// store 32 elements in 34 (q8_0) or 18 (q4_0) bytes — never "1 byte".
func cacheRowBytes(typ string, n int) uint64 {
	switch typ {
	case "q8_0":
		return uint64((n+31)/32) * 34
	case "q4_0":
		return uint64((n+31)/32) * 18
	case "f32":
		return uint64(n) * 4
	default: // f16, bf16
		return uint64(n) * 2
	}
}

// ctxLayout is llama.cpp's context arithmetic (llama_context constructor):
// n_ctx padded to 256, split into n_seq streams of n_ctx_seq cells, each padded
// to 256 again.
type ctxLayout struct {
	NCtx, NCtxSeq, NSeq, NUbatch int
}

func layout(perSeqCtx, nSeq, ubatch int) ctxLayout {
	nSeq = max(nSeq, 1)
	total := pad(perSeqCtx*nSeq, 256)
	seq := pad(total/nSeq, 256)
	if ubatch <= 0 {
		ubatch = 512
	}
	return ctxLayout{NCtx: seq * nSeq, NCtxSeq: seq, NSeq: nSeq, NUbatch: min(ubatch, seq*nSeq)}
}

func pad(n, to int) int { return (n + to - 1) / to * to }

// kvLayerBytes is the KV cache of each block: per-layer KV heads (0 = no KV),
// key/value lengths, sliding-window layers holding only their window unless
// swaFull, one stream per sequence. Without flash attention V is stored
// transposed and padded to the widest layer.
func kvLayerBytes(s gguf.Summary, l ctxLayout, cacheType string, flash, swaFull bool) []uint64 {
	n := s.BlockCount
	out := make([]uint64, n)
	maxV := 0
	for i := 0; i < n; i++ {
		maxV = max(maxV, headKV(s, i)*valLen(s))
	}
	for i := 0; i < n; i++ {
		h := headKV(s, i)
		if h == 0 {
			continue
		}
		cells := l.NCtxSeq
		if !swaFull && s.SlidingWindow > 0 && i < len(s.SlidingLayers) && s.SlidingLayers[i] {
			cells = pad(min(l.NCtxSeq, s.SlidingWindow+l.NUbatch), 256)
		}
		vw := h * valLen(s)
		if !flash {
			vw = maxV
		}
		row := cacheRowBytes(cacheType, h*keyLen(s)) + cacheRowBytes(cacheType, vw)
		out[i] = row * uint64(cells) * uint64(l.NSeq)
	}
	return out
}

func headKV(s gguf.Summary, i int) int {
	if i < len(s.HeadCountKV) {
		return s.HeadCountKV[i]
	}
	if len(s.HeadCountKV) > 0 {
		return s.HeadCountKV[len(s.HeadCountKV)-1]
	}
	return s.HeadCount
}

func keyLen(s gguf.Summary) int {
	if s.KeyLength > 0 {
		return s.KeyLength
	}
	if s.HeadCount > 0 {
		return s.EmbeddingLength / s.HeadCount
	}
	return 0
}

func valLen(s gguf.Summary) int {
	if s.ValueLength > 0 {
		return s.ValueLength
	}
	return keyLen(s)
}
