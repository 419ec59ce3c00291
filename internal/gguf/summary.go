package gguf

// Summary is what the rest of fitbench needs to know about a model, derived from
// metadata and tensor shapes (never from the file name). Estimators in
// internal/estimate read only this struct, so it must be filled the same way for a
// local file, a remote header and a group of split shards (see MergeSummaries).
type Summary struct {
	Architecture string `json:"architecture"`
	Name         string `json:"name,omitempty"` // general.name

	// ParamCount is the sum of element counts of all tensors.
	ParamCount uint64 `json:"param_count"`
	// FileType is general.file_type (llama_ftype); -1 when absent.
	FileType int `json:"file_type"`
	// QuantLabel is the llama.cpp name of FileType ("Q4_K_M", "F16", …), or the
	// dominant tensor type when general.file_type is absent.
	QuantLabel string `json:"quant"`

	VocabSize         int `json:"vocab_size"`
	ContextLength     int `json:"context_length"` // training context
	EmbeddingLength   int `json:"embedding_length"`
	BlockCount        int `json:"block_count"`
	FeedForwardLength int `json:"feed_forward_length,omitempty"`
	HeadCount         int `json:"head_count"`
	// HeadCountKV holds one entry per block: the scalar is repeated, a per-layer
	// array is kept as is (0 = a layer without attention, e.g. recurrent/hybrid).
	HeadCountKV []int `json:"head_count_kv"`
	KeyLength   int   `json:"key_length"`   // per head; default EmbeddingLength/HeadCount
	ValueLength int   `json:"value_length"` // per head; default EmbeddingLength/HeadCount

	// SlidingWindow is {arch}.attention.sliding_window (0 = none). SlidingLayers[i]
	// is true when block i uses the window (from a per-layer pattern, or the
	// architecture's known rule, e.g. gemma2 every other layer, gemma3 5 of 6).
	SlidingWindow int    `json:"sliding_window,omitempty"`
	SlidingLayers []bool `json:"sliding_layers,omitempty"`

	ExpertCount     int `json:"expert_count,omitempty"`
	ExpertUsedCount int `json:"expert_used_count,omitempty"`

	// Tensor bytes as stored in the file (the size llama.cpp allocates for them).
	TensorBytes uint64   `json:"tensor_bytes"` // all tensors
	LayerBytes  []uint64 `json:"layer_bytes"`  // blk.N.* per block N
	// ExpertLayerBytes is the part of LayerBytes[N] held in expert tensors
	// (ffn_*_exps); a token reads only ExpertUsedCount/ExpertCount of it.
	ExpertLayerBytes []uint64 `json:"expert_layer_bytes,omitempty"`
	TokenEmbdBytes   uint64   `json:"token_embd_bytes"` // token_embd.* (stays on the CPU in llama.cpp)
	// OutputBytes is output.* plus output_norm.*: the "output layer" that -ngl
	// offloads first. When output.weight is absent (tied embeddings) llama.cpp
	// uses token_embd for the output matmul; OutputTied records that.
	OutputBytes uint64 `json:"output_bytes"`
	OutputTied  bool   `json:"output_tied,omitempty"`
	OtherBytes  uint64 `json:"other_bytes,omitempty"`
	// GPULayerPad, GPUOutputPad and GPUTokenEmbdPad are the bytes a CUDA
	// buffer adds to these tensors beyond their stored size (ggml-cuda.cu
	// get_alloc_size: a quantized tensor whose rows are not a multiple of
	// MATRIX_ROW_PADDING = 512 elements gets the rest of one row; each tensor
	// then starts at CUDA_ALIGNMENT = 128 bytes): per block, for output.* +
	// output_norm.*, and for token_embd.* (duplicated onto a GPU when tied).
	GPULayerPad     []uint64 `json:"gpu_layer_pad,omitempty"`
	GPUOutputPad    uint64   `json:"gpu_output_pad,omitempty"`
	GPUTokenEmbdPad uint64   `json:"gpu_token_embd_pad,omitempty"`
	// BF16ExpertBiasBytes is the size of the *_exps.bias tensors stored as BF16
	// (gpt-oss): Ollama's engine loads them as F32, twice this size.
	BF16ExpertBiasBytes uint64 `json:"bf16_expert_bias_bytes,omitempty"` // tensors in none of the groups above (rope_freqs, …)

	Shards int `json:"shards"` // number of files this summary covers

	// Arch holds the architecture-specific hyperparameters the memory model
	// needs beyond the llama shape (recurrent state, MLA, MoE widths, the
	// tokenizer keys that decide Ollama's engine path). See summary_arch.go.
	Arch ArchParams `json:"arch,omitzero"`
}
