// Package estimate answers "will it run, how, how fast, how good" from a GGUF
// summary and a hardware target, with pure functions (no I/O): memory per device
// for the llama.cpp family (llama-server, Ollama) and for vLLM, the offload
// plan, speed (with self-calibration), quality stars and a recommendation.
package estimate

import "github.com/fitbench/fitbench/internal/gguf"

// Engine families.
const (
	EngineLlamaCpp = "llamacpp"
	EngineOllama   = "ollama"
	EngineVLLM     = "vllm"
)

// Sources of a report.
const (
	SourceHeader    = "header"
	SourceHeuristic = "heuristic"
)

// Verdicts.
const (
	VerdictFits        = "fits"
	VerdictFitsOffload = "fits_with_offload"
	VerdictNoFit       = "does_not_fit"
	// VerdictRAMUnknown: the GPU cannot hold everything and system RAM is unknown.
	VerdictRAMUnknown = "ram_unknown"
)

// GB is 10^9 bytes: every *_gb figure uses it, as the Hub and the original design do.
const GB = 1e9

// GPU is one target GPU (from hardware detection or an override).
type GPU struct {
	Name          string  `json:"name"`
	VRAMBytes     uint64  `json:"vram_bytes"`
	FreeBytes     uint64  `json:"free_bytes"`     // 0 = assume VRAMBytes
	BandwidthGBs  float64 `json:"bandwidth_gb_s"` // memory bandwidth
	FP16TFLOPS    float64 `json:"fp16_tflops"`
	OverheadBytes uint64  `json:"overhead_bytes"` // runtime overhead (CUDA context…); 0 = DefaultGPUOverhead
	// Split is this GPU's share under llama.cpp --tensor-split (any scale);
	// 0 on every GPU = llama.cpp's default, proportional to free memory.
	Split float64 `json:"split,omitempty"`
}

// Target is the machine an estimate is for. No GPUs = CPU only.
type Target struct {
	GPUs         []GPU   `json:"gpus"`
	RAMBytes     uint64  `json:"ram_bytes"` // usable system RAM (MemAvailable)
	CPUBandwidth float64 `json:"cpu_bandwidth_gb_s"`
	CPUGFLOPS    float64 `json:"cpu_gflops"`
	CPUThreads   int     `json:"cpu_threads"`
	// Unified: the GPUs' memory is part of RAMBytes (Apple Silicon), so GPU
	// and CPU totals together must fit in it. See target.go.
	Unified bool `json:"unified_memory,omitempty"`
	// RAMUnknown: system RAM could not be read; nothing that needs it is
	// claimed to fit (VerdictRAMUnknown).
	RAMUnknown bool `json:"ram_unknown,omitempty"`
}

// DefaultGPUOverhead is what a CUDA/ROCm context and driver reserve per GPU
// before llama.cpp allocates anything (measured 300–600 MiB on consumer cards;
// 512 MiB is the documented default, change it per GPU with OverheadBytes).
const DefaultGPUOverhead = 512 << 20

// Input is one variant to analyse.
type Input struct {
	Summary   gguf.Summary `json:"-"`
	Engine    string       `json:"engine"`     // llamacpp (default), ollama, vllm
	Context   int          `json:"context"`    // per sequence; 0 = min(train ctx, 8192)
	Parallel  int          `json:"parallel"`   // sequences; 0 = 1
	CacheType string       `json:"cache_type"` // f16 (default), q8_0, q4_0
	// FlashAttention: nil = the engine's default (llama.cpp "auto": on when the
	// device supports it, which CPUs and recent GPUs do).
	FlashAttention *bool  `json:"flash_attention,omitempty"`
	NUbatch        int    `json:"n_ubatch"`             // 0 = 512
	GPULayers      *int   `json:"gpu_layers,omitempty"` // nil = plan the largest that fits
	Target         Target `json:"target"`
	// SafetyMargin is kept free on each GPU when planning; 0 = 5% of VRAM.
	SafetyMargin uint64      `json:"safety_margin"`
	VLLM         VLLMOptions `json:"vllm"`
	// KVTokens is the number of tokens in the cache the speed estimate assumes
	// each decoded token attends over; 0 = half the context (a long chat). A
	// benchmark sets it to its prompt + generated length.
	KVTokens int `json:"kv_tokens,omitempty"`
	// ProjectorBytes is the vision projector (mmproj) file that will be loaded
	// with the model, 0 = none. Ollama then runs the model on its llama.cpp
	// runner, which places the projector on the main device.
	ProjectorBytes uint64 `json:"projector_bytes,omitempty"`
	// Calibration, when non-nil, adds a calibrated speed beside the plain one.
	Calibration *Calibration `json:"-"`
}

// Device is the memory on one device, exact bytes.
type Device struct {
	Name          string `json:"name"` // "CPU", "GPU0", …
	WeightsBytes  uint64 `json:"weights_bytes"`
	KVBytes       uint64 `json:"kv_bytes"`
	ComputeBytes  uint64 `json:"compute_bytes"`
	OutputBytes   uint64 `json:"output_bytes"`
	OverheadBytes uint64 `json:"overhead_bytes"`
	TotalBytes    uint64 `json:"total_bytes"`
	CapacityBytes uint64 `json:"capacity_bytes"`
	Layers        int    `json:"layers"`
}

// Memory is the original design's memory block plus the per-device breakdown.
type Memory struct {
	TotalGB      float64  `json:"total_gb"`
	ModelGB      float64  `json:"model_gb"`
	KVCacheGB    float64  `json:"kv_cache_gb"`
	OverheadGB   float64  `json:"overhead_gb"` // compute + output + runtime
	AvailableGB  float64  `json:"available_gb"`
	CPUOffloadGB float64  `json:"cpu_offload_gb"`
	Devices      []Device `json:"devices"`
}

// Performance is the original design's performance block, extended.
type Performance struct {
	EstimatedThroughput  float64 `json:"estimated_throughput"` // decode tok/s, one sequence
	QualityStars         int     `json:"quality_stars"`
	OffloadPenalty       float64 `json:"offload_penalty"`  // fraction of speed lost to offload
	BatchThroughput      float64 `json:"batch_throughput"` // tok/s over Parallel sequences
	PrefillTokS          float64 `json:"prefill_tok_s"`
	CalibratedThroughput float64 `json:"calibrated_throughput,omitempty"`
	Calibrated           bool    `json:"calibrated"`
}

// Report is the analysis of one variant.
type Report struct {
	Source string `json:"source"`
	Engine string `json:"engine"`
	// EnginePath is the program that really runs the model and that the
	// memory is estimated for: ollama-engine (Ollama's own engine),
	// ollama-llamacpp (Ollama's llama.cpp runner), llama-server or vllm.
	EnginePath string `json:"engine_path"`
	// EnginePathReason says why Ollama falls back to its llama.cpp runner.
	EnginePathReason string `json:"engine_path_reason,omitempty"`
	// Approximate is set when the architecture is unknown and the closest
	// profile was used (a note names it).
	Approximate bool `json:"approximate,omitempty"`
	// StateBytes is the recurrent state (Mamba/short-conv/RWKV) inside the KV figures.
	StateBytes         uint64      `json:"state_bytes,omitempty"`
	Quantization       string      `json:"quantization"`
	WillFit            bool        `json:"will_fit"`
	FitsWithoutOffload bool        `json:"fits_without_offload"`
	Verdict            string      `json:"verdict"`
	Memory             Memory      `json:"memory"`
	Performance        Performance `json:"performance"`
	GPULayers          int         `json:"gpu_layers"`
	TotalLayers        int         `json:"total_layers"`
	Context            int         `json:"context"`
	Parallel           int         `json:"parallel"`
	CacheType          string      `json:"cache_type"`
	FlashAttention     bool        `json:"flash_attention"`
	Advice             []string    `json:"advice,omitempty"`
	Notes              []string    `json:"notes,omitempty"`
	VLLM               *VLLMPlan   `json:"vllm,omitempty"`
	// Offload (offload.go): the MoE expert-offload plan, what llama-server's
	// own automatic fit will choose with its defaults, and the command lines
	// that realise this report's plan.
	MoE            *MoEPlan  `json:"moe_plan,omitempty"`
	LlamaServerFit *LlamaFit `json:"llama_server_fit,omitempty"`
	// OllamaFit is the layout Ollama's scheduler picks without num_gpu
	// (engine ollama with a GPU; ollamalayout.go).
	OllamaFit *OllamaFit `json:"ollama_fit,omitempty"`
	Command   *Command   `json:"command,omitempty"`
}
