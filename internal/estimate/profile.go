package estimate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Engine paths: which program really allocates the memory. Ollama runs a model
// either on its own Go engine (runner/ollamarunner) or on its bundled llama.cpp
// (runner/llamarunner); both are "ollama" to the user, but they allocate
// differently, so every report names the path it estimated for.
const (
	PathOllamaEngine   = "ollama-engine"   // Ollama's own engine (ollamarunner)
	PathOllamaLlamaCpp = "ollama-llamacpp" // Ollama's llama.cpp runner (llamarunner)
	PathLlamaServer    = "llama-server"
	PathVLLM           = "vllm"
)

// PathLabel is the human name of an engine path (CLI report, page).
func PathLabel(p string) string {
	switch p {
	case PathOllamaEngine:
		return "Ollama's own engine"
	case PathOllamaLlamaCpp:
		return "Ollama's llama.cpp runner"
	case PathLlamaServer:
		return "llama-server"
	case PathVLLM:
		return "vLLM"
	}
	return p
}

// Recurrent state kinds (llama.cpp llama_hparams::n_embd_r/n_embd_s,
// Ollama kvcache/recurrent.go).
const (
	stateNone      = ""
	stateMamba     = "mamba"     // Mamba / Mamba-2: conv state + SSM state
	stateDeltaNet  = "deltanet"  // qwen3next gated delta net: conv + delta state
	stateShortConv = "shortconv" // LFM2: conv state only
	stateRWKV      = "rwkv"      // RWKV: token shift + wkv state
)

// archProfile is what fitbench knows about one architecture, as data: it feeds
// the one layer/KV/state model (state.go) and the one graph builder
// (computegraph.go). Adding an architecture is adding a row to profiles.
type archProfile struct {
	name string
	// ollamaEngine: listed in Ollama's OllamaEngineRequired (fs/ggml/ggml.go);
	// ollamaFlash: listed in GGML.FlashAttention (flash attention on by default
	// on Ollama's engine).
	ollamaEngine, ollamaFlash bool
	// ollamaCheck is the part of model/models/<arch>/model.go New that refuses a
	// file (the runner then falls back to llama.cpp); "" = accepted.
	ollamaCheck func(s gguf.Summary) string
	// state is the recurrent state kind; hybrid marks llama.cpp's
	// llm_arch_is_hybrid (llama-arch.cpp): attention layers then get an n_ctx-cell
	// cache per stream (llama_memory_hybrid, llama-model.cpp create_memory).
	state  string
	hybrid bool
	// recurrentRule decides which layers carry recurrent state
	// (llama-model.cpp load_hparams: recurrent_layer_arr).
	recurrentRule string // "all", "kv0" (n_head_kv == 0), "kv0ff0" (nemotron_h), "interval" (qwen3next)
	// ollamaSWAMemory: Ollama's gpt-oss keeps 4096 tokens on its sliding layers
	// (kvcache.NewSWAMemCache in model/models/gptoss/model.go).
	ollamaSWAMemory int
	// ollamaSWACadence: Ollama's gemma3 wraps SWA + causal on a fixed cadence
	// (model/models/gemma3/model_text.go: (i+1)%6 == 0 is causal).
	ollamaSWACadence int
	// ollamaFullCache: the engine keeps the whole context on every layer even
	// where llama.cpp bounds it (llama4 chunked attention: NewChunkedAttentionCache
	// sets no window, kvcache/causal.go Init).
	ollamaFullCache bool
	mla             bool // multi-head latent attention (deepseek2)
	gemmaNorms      bool // pre+post attention/FFN norms (gemma2/gemma3): more live [n_embd, T] tensors
	// fused: one attn_qkv projection whose Q/K/V are views, and one ffn_up
	// holding gate and up (llama.cpp src/models/phi3.cpp: wqkv, LLM_FFN_SWIGLU
	// on a single up tensor).
	fused bool
	// residualFirst: the block's last add takes the residual as its first
	// operand (phi3.cpp: ggml_add(ctx0, residual, cur); llama and the others:
	// ggml_add(ctx0, cur, ffn_inp)). ggml-alloc reuses the first parent it
	// may, so this decides which tensor the sum overwrites and where later
	// tensors fit: ±1.2% of phi3's compute buffer.
	residualFirst bool
	// embedScale: the token embeddings are scaled by √n_embd before the
	// first block (llama.cpp models/gemma*.cpp: inpL = ggml_scale(inpL, …);
	// Ollama model/models/gemma3/model_text.go hiddenState.Scale). In place
	// normally; under pipeline parallelism the embeddings' copy is a graph
	// output, so the scale gets a tensor of its own.
	embedScale bool
	// qkNorm: Q and K get a per-head RMS norm with a weight before the rope
	// (llama.cpp models/qwen3.cpp, qwen3moe.cpp, gemma3.cpp, lfm2.cpp:
	// build_norm(Qcur, attn_q_norm); Ollama's QueryNorm/KeyNorm). The norm
	// weights are small, but the scheduler copies them into a GPU that runs
	// the op, and they count in the block's bytes.
	qkNorm bool
	// qkNormFull: Ollama's olmo3 norms the whole Q and K projections before
	// the per-head reshape (model/models/olmo3/model.go QNorm/KNorm).
	qkNormFull bool
	// ollamaEmbedDup: Ollama's model copies the token embeddings before the
	// first layer (TokenEmbedding.Forward(...).Duplicate(ctx), where image
	// embeddings get written): one more [n_embd, T] tensor at the start
	// (model/models/mistral3/model_text.go, llama4/model_text.go).
	ollamaEmbedDup bool
	ollamaNoFlash  bool // GGML.SupportsFlashAttention false (gemma2)
	approx         bool // closest profile for an architecture fitbench does not know
	// ollamaSerial: Ollama loads the model with parallel = 1 whatever
	// OLLAMA_NUM_PARALLEL says (server/sched.go load: "model architecture does
	// not currently support parallel requests").
	ollamaSerial bool
}

func preIs(want ...string) func(gguf.Summary) string {
	return func(s gguf.Summary) string {
		if !slices.Contains(want, s.Arch.TokenizerPre) {
			return fmt.Sprintf("its tokenizer pre-tokenizer %q is not supported by Ollama's engine (it accepts %s)", s.Arch.TokenizerPre, strings.Join(want, ", "))
		}
		return ""
	}
}

func tokModelIs(want string) func(gguf.Summary) string {
	return func(s gguf.Summary) string {
		if s.Arch.TokenizerModel != want {
			return fmt.Sprintf("its tokenizer model %q is not supported by Ollama's engine (it needs %q)", s.Arch.TokenizerModel, want)
		}
		return ""
	}
}

var llamaProfile = archProfile{name: "llama"}

// profiles: one row per architecture. Engine facts from Ollama v0.17.4
// (fs/ggml/ggml.go OllamaEngineRequired/FlashAttention, model/models/*), layer
// facts from its vendored llama.cpp (src/llama-model.cpp, src/llama-arch.cpp).
var profiles = map[string]archProfile{
	"llama":    {},
	"mistral3": {ollamaEngine: true, ollamaFlash: true, ollamaEmbedDup: true},
	"qwen2":    {},
	"qwen3":    {ollamaEngine: true, ollamaFlash: true, qkNorm: true},
	"qwen3moe": {ollamaEngine: true, ollamaFlash: true, qkNorm: true},
	"phi3":     {fused: true, residualFirst: true},
	"olmo3":    {ollamaEngine: true, ollamaFlash: true, qkNormFull: true},
	"gemma2":   {gemmaNorms: true, ollamaNoFlash: true, embedScale: true},
	"gemma3":   {ollamaEngine: true, ollamaFlash: true, gemmaNorms: true, ollamaSWACadence: 6, embedScale: true, qkNorm: true},
	"gptoss":   {ollamaEngine: true, ollamaFlash: true, ollamaSWAMemory: 4096},
	"gpt-oss":  {ollamaEngine: true, ollamaFlash: true, ollamaSWAMemory: 4096},
	"llama4":   {ollamaEngine: true, ollamaFullCache: true, ollamaEmbedDup: true},
	// deepseek2: Ollama's engine accepts only the deepseek-v3 pre-tokenizer
	// (model/models/deepseek2/model.go New: "deepseek-llm" falls through to
	// ErrUnsupportedTokenizer); it is not in FlashAttention's list.
	"deepseek2":      {ollamaEngine: true, ollamaCheck: preIs("deepseek-v3"), mla: true},
	"glm4moelite":    {ollamaEngine: true, ollamaFlash: true, ollamaCheck: preIs("glm4"), mla: true},
	"lfm2":           {ollamaEngine: true, ollamaFlash: true, qkNorm: true, ollamaCheck: tokModelIs("gpt2"), state: stateShortConv, hybrid: true, recurrentRule: "kv0", ollamaSerial: true},
	"lfm2moe":        {ollamaEngine: true, ollamaFlash: true, qkNorm: true, ollamaCheck: tokModelIs("gpt2"), state: stateShortConv, hybrid: true, recurrentRule: "kv0", ollamaSerial: true},
	"nemotron_h":     {ollamaEngine: true, ollamaFlash: true, state: stateMamba, hybrid: true, recurrentRule: "kv0ff0", ollamaSerial: true},
	"nemotron_h_moe": {ollamaEngine: true, ollamaFlash: true, state: stateMamba, hybrid: true, recurrentRule: "kv0ff0", ollamaSerial: true},
	"qwen3next":      {ollamaEngine: true, ollamaFlash: true, state: stateDeltaNet, hybrid: true, recurrentRule: "interval", ollamaSerial: true},
	"qwen35":         {ollamaEngine: true, ollamaFlash: true, state: stateDeltaNet, hybrid: true, recurrentRule: "interval", ollamaSerial: true},
	"qwen35moe":      {ollamaEngine: true, ollamaFlash: true, state: stateDeltaNet, hybrid: true, recurrentRule: "interval", ollamaSerial: true},
	// On Ollama's engine but with memory fitbench does not model apart (per-layer
	// embeddings and KV sharing, cross-attention, vision towers, encoders): the
	// path is right, the memory is the llama shape and says it is approximate.
	"gemma3n":       {ollamaEngine: true, approx: true},
	"mllama":        {ollamaEngine: true, approx: true, ollamaSerial: true},
	"qwen25vl":      {ollamaEngine: true, approx: true},
	"qwen3vl":       {ollamaEngine: true, ollamaFlash: true, approx: true, ollamaSerial: true},
	"qwen3vlmoe":    {ollamaEngine: true, ollamaFlash: true, approx: true, ollamaSerial: true},
	"deepseekocr":   {ollamaEngine: true, approx: true},
	"glmocr":        {ollamaEngine: true, ollamaFlash: true, approx: true},
	"bert":          {ollamaEngine: true, approx: true},
	"nomic-bert":    {ollamaEngine: true, approx: true},
	"granitehybrid": {state: stateMamba, hybrid: true, recurrentRule: "kv0"},
	"jamba":         {state: stateMamba, hybrid: true, recurrentRule: "kv0"},
	"mamba":         {state: stateMamba, recurrentRule: "all"},
	"mamba2":        {state: stateMamba, recurrentRule: "all"},
	"rwkv6":         {state: stateRWKV, recurrentRule: "all"},
	"rwkv6qwen2":    {state: stateRWKV, recurrentRule: "all"},
	"rwkv7":         {state: stateRWKV, recurrentRule: "all"},
	"arwkv7":        {state: stateRWKV, recurrentRule: "all"},
}

// knownLlamaShaped are architectures whose memory is llama's (GQA attention,
// gated or plain FFN, optional MoE): they need no row of their own.
var knownLlamaShaped = []string{"llama", "mistral", "qwen2", "qwen2moe", "phi3", "granite", "granitemoe",
	"olmo2", "cohere2", "exaone4", "smallthinker", "starcoder2", "internlm2", "stablelm", "mixtral",
	"deepseek", "command-r", "gemma", "gemma-embedding", "afmoe", "smollm3", "glm4", "ernie4_5", "hunyuan-moe"}

// profileFor returns the architecture's profile; an unknown one gets the
// closest known profile (by its hyperparameters) marked approximate.
func profileFor(s gguf.Summary) archProfile {
	if p, ok := profiles[s.Architecture]; ok {
		p.name = s.Architecture
		return p
	}
	if slices.Contains(knownLlamaShaped, s.Architecture) {
		p := llamaProfile
		p.name = s.Architecture
		return p
	}
	p := llamaProfile
	switch {
	case s.Arch.KVLoraRank > 0:
		p = profiles["deepseek2"]
		p.ollamaEngine = false
	case s.Arch.ShortConvLCache > 0:
		p = profiles["lfm2"]
		p.ollamaEngine = false
	case s.Arch.SSMStateSize > 0 && hasAttentionLayer(s):
		p = profiles["granitehybrid"]
	case s.Arch.SSMStateSize > 0:
		p = profiles["mamba2"]
	case s.Arch.WKVHeadSize > 0:
		p = profiles["rwkv6"]
	}
	p.name = s.Architecture
	p.approx = true
	return p
}

func hasAttentionLayer(s gguf.Summary) bool {
	for _, h := range s.HeadCountKV {
		if h > 0 {
			return true
		}
	}
	return false
}

// ollamaParallel is the parallel count Ollama really loads with
// (server/sched.go load): 1 for embedding models and the architectures it
// marks unsafe for parallel requests.
func ollamaParallel(s gguf.Summary, p archProfile, par int) (int, string) {
	if par <= 1 {
		return max(par, 1), ""
	}
	if p.ollamaSerial {
		return 1, fmt.Sprintf("Ollama loads %s with one sequence (it does not support parallel requests for this architecture): estimated for parallel 1", s.Architecture)
	}
	if s.Arch.Pooling {
		return 1, "Ollama loads embedding models with one sequence: estimated for parallel 1"
	}
	return par, ""
}

// enginePath decides which program runs the model, as Ollama v0.17.4 does in
// llm/server.go NewLlamaServer: its own engine when the architecture is in
// OllamaEngineRequired and model.NewTextProcessor accepts the file (no split
// vision projector, a tokenizer the model's New accepts, a registered
// <arch>_embed for embedding models); otherwise "compatibility mode", the
// llama.cpp runner. The reason says why when it falls back.
func enginePath(engine string, s gguf.Summary, p archProfile, projector bool) (path, reason string) {
	switch engine {
	case EngineVLLM:
		return PathVLLM, ""
	case EngineOllama:
	default:
		return PathLlamaServer, ""
	}
	if !p.ollamaEngine {
		return PathOllamaLlamaCpp, ""
	}
	if projector {
		return PathOllamaLlamaCpp, "a separate vision projector makes Ollama use its llama.cpp runner (\"split vision models aren't supported\")"
	}
	if s.Arch.Pooling && !slices.Contains([]string{"qwen3", "gemma3", "bert", "nomic-bert"}, s.Architecture) {
		return PathOllamaLlamaCpp, "an embedding model of this architecture is not supported by Ollama's engine"
	}
	if p.ollamaCheck != nil {
		if why := p.ollamaCheck(s); why != "" {
			return PathOllamaLlamaCpp, why + ": Ollama switches to its llama.cpp runner (compatibility mode)"
		}
	}
	return PathOllamaEngine, ""
}

// visionArch: architectures usually shipped with a vision tower; without an
// mmproj file the report says the projector is left out.
func visionArch(arch string) bool {
	return slices.Contains([]string{"gemma3", "mistral3", "llama4", "qwen2vl", "qwen25vl", "qwen3vl", "qwen3vlmoe", "mllama", "lfm2"}, arch)
}
