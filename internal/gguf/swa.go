package gguf

// swaRule is how llama.cpp (llama-model.cpp, load_hparams) decides which layers of
// an architecture use sliding-window attention. defWindow applies when the key is
// absent; needKey means SWA is on only when the key is present and > 0.
type swaRule struct {
	pattern    int
	denseFirst bool // layer i is SWA unless i%pattern == 0 (smallthinker)
	defWindow  int
	needKey    bool
	layers     int // rule applies only at this block count (exaone4 32B), 0 = always
}

var swaRules = map[string]swaRule{
	"gemma2":          {pattern: 2, defWindow: 4096},
	"gemma3":          {pattern: 6, needKey: true},
	"gemma3n":         {pattern: 5},
	"gemma-embedding": {pattern: 6},
	"cohere2":         {pattern: 4},
	"olmo2":           {pattern: 4, needKey: true},
	"afmoe":           {pattern: 4, needKey: true},
	"gpt-oss":         {pattern: 2},
	"gptoss":          {pattern: 2}, // Ollama's converter's name; its engine: even layers slide (model/models/gptoss SetLayerType(i%2))
	"smallthinker":    {pattern: 4, denseFirst: true, needKey: true, defWindow: 4096},
	"exaone4":         {pattern: 4, defWindow: 4096, layers: 64},
	// llama4 uses chunked attention (8192-token chunks, 3 of 4 layers) unless the
	// file sets sliding_window = 0; a chunk bounds the cache like a window does.
	"llama4": {pattern: 4, defWindow: 8192},
}

// swaPattern is llama_hparams::set_swa_pattern: with period n, layer i uses the
// window unless it is the last of its period (or the first, when denseFirst).
func swaPattern(nLayer, n int, denseFirst bool) []bool {
	out := make([]bool, nLayer)
	for i := range out {
		switch {
		case n <= 0:
			out[i] = true
		case denseFirst:
			out[i] = i%n != 0
		default:
			out[i] = i%n < n-1
		}
	}
	return out
}

// slidingWindow fills SlidingWindow and SlidingLayers. An explicit
// {arch}.attention.sliding_window_pattern (period or per-layer bools) wins over
// the architecture rule. When llama.cpp would not use the window for any layer
// (e.g. a qwen2 file that records one), both stay zero so no estimator shrinks
// the cache that llama.cpp will really allocate.
func slidingWindow(f *File, arch string, s *Summary) {
	window, found := archInt(f, arch, "attention.sliding_window")
	n := s.BlockCount
	if v, ok := f.Get(arch + ".attention.sliding_window_pattern"); ok && window > 0 {
		if p, ok := v.Uint(); ok {
			s.SlidingWindow, s.SlidingLayers = window, swaPattern(n, int(p), false)
			return
		}
		if bs, ok := v.Bools(); ok {
			layers := make([]bool, n)
			copy(layers, bs)
			s.SlidingWindow, s.SlidingLayers = window, layers
			return
		}
	}
	rule, ok := swaRules[arch]
	if !ok || (rule.layers != 0 && rule.layers != n) {
		return
	}
	if arch == "llama4" && found && window == 0 {
		return
	}
	if arch == "llama4" {
		window = rule.defWindow // llama.cpp ignores the key's value here
	}
	if !found && !rule.needKey {
		window = rule.defWindow
	}
	if rule.needKey && (!found || window <= 0) {
		return
	}
	if arch == "smallthinker" {
		window = rule.defWindow
	}
	if window <= 0 {
		return
	}
	s.SlidingWindow, s.SlidingLayers = window, swaPattern(n, rule.pattern, rule.denseFirst)
}
