package estimate

import "github.com/fitbench/fitbench/internal/gguf"

// moeRoute is how an architecture calls llama.cpp's build_moe_ffn
// (llama-graph.cpp) — the arguments that add ops between the router's
// logits and the experts: the gating function, a router bias, DeepSeek V3's
// selection bias, and the normalisation and scaling of the expert weights.
// The graph replay (computegraph.go moeFFN) adds exactly those ops, as
// ggml-alloc sizes and places every one of them.
type moeRoute struct {
	gating     int  // gatingSoftmax, gatingSigmoid, gatingSoftmaxWeight
	routerBias bool // ffn_gate_inp_b: ggml_add on the logits (gpt-oss)
	probsBias  bool // exp_probs_b: ggml_add before the selection (DeepSeek V3)
	normW      bool // weights / sum(weights): sum_rows, clamp, div
	scaleW     bool // ggml_scale of the weights
}

const (
	gatingSoftmax       = 1 // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX
	gatingSigmoid       = 2 // LLAMA_EXPERT_GATING_FUNC_TYPE_SIGMOID
	gatingSoftmaxWeight = 3 // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX_WEIGHT
)

// moeRoutes: the build_moe_ffn arguments of src/models/<arch>.cpp where they
// differ from the common softmax + normalised weights (llama.cpp's llama,
// qwen3moe, granite, granite-hybrid, dbrx, phi3, …). fromFile: the gating
// function and the normalisation are the file's (expert_gating_func,
// expert_weights_norm; llama-model.cpp defaults a missing gating function to
// softmax).
var moeRoutes = map[string]struct {
	moeRoute
	fromFile bool
}{
	"gpt-oss":   {moeRoute: moeRoute{gating: gatingSoftmaxWeight, routerBias: true}}, // openai-moe-iswa.cpp
	"gptoss":    {moeRoute: moeRoute{gating: gatingSoftmaxWeight, routerBias: true}},
	"deepseek2": {moeRoute: moeRoute{scaleW: true}, fromFile: true}, // deepseek2.cpp
	"qwen2moe":  {moeRoute: moeRoute{gating: gatingSoftmax}},        // norm_w false
	"olmoe":     {moeRoute: moeRoute{gating: gatingSoftmax}},
	"deepseek":  {moeRoute: moeRoute{gating: gatingSoftmax}},
	"jamba":     {moeRoute: moeRoute{gating: gatingSoftmax}},
	"llada-moe": {moeRoute: moeRoute{gating: gatingSoftmax}},
}

// moeRouteFor is the routing llama.cpp builds for the file's architecture.
func moeRouteFor(s gguf.Summary) *moeRoute {
	e, ok := moeRoutes[s.Architecture]
	if !ok {
		return &moeRoute{gating: gatingSoftmax, normW: true}
	}
	r := e.moeRoute
	if e.fromFile {
		r.gating = max(s.Arch.ExpertGatingFunc, gatingSoftmax)
		r.normW = s.Arch.ExpertWeightsNorm
	}
	r.probsBias = s.Arch.ExpertProbsBias
	return &r
}

// weights adds the ops that turn the selected probabilities ([1, used,
// rows], a get_rows) into the experts' weights, as build_moe_ffn does. An op
// on a reshaped tensor gets fresh memory (ggml-alloc never reuses a view
// parent, galloc.go).
func (r *moeRoute) weights(g *graph, w *gtensor, rows int) *gtensor {
	if r.gating == gatingSoftmaxWeight {
		w = g.viewOf(g.op(w.size, true, g.viewOf(w))) // soft_max over the used experts
	}
	if r.normW {
		// sum_rows, clamp, div over reshaped views (so the div is a new
		// tensor: ggml-alloc never reuses a view in place)
		sum := g.op(uint64(4*rows), false, g.viewOf(w)) // [1, rows]
		sum = g.viewOf(sum)                             // ggml_clamp returns a view of its source (ggml.c)
		w = g.viewOf(g.op(w.size, true, g.viewOf(w), sum))
	}
	if r.scaleW {
		w = g.op(w.size, true, w)
	}
	return w
}
