package gguf

import "strings"

// ArchParams are the hyperparameters beyond the llama shape that decide memory
// for today's architectures. Every field is the GGUF key named beside it; zero
// means the key is absent. The engine rules that use them live in
// internal/estimate (profile.go, state.go), with the engine source they come from.
type ArchParams struct {
	// Recurrent state (Mamba/Mamba-2, gated delta net, RWKV, LFM2 short conv):
	// llama.cpp's llama_hparams::n_embd_r / n_embd_s (llama-hparams.cpp).
	SSMConvKernel   int `json:"ssm_conv_kernel,omitempty"`    // {arch}.ssm.conv_kernel
	SSMStateSize    int `json:"ssm_state_size,omitempty"`     // {arch}.ssm.state_size
	SSMInnerSize    int `json:"ssm_inner_size,omitempty"`     // {arch}.ssm.inner_size
	SSMGroupCount   int `json:"ssm_group_count,omitempty"`    // {arch}.ssm.group_count
	SSMTimeStepRank int `json:"ssm_time_step_rank,omitempty"` // {arch}.ssm.time_step_rank (Mamba-2 heads)
	ShortConvLCache int `json:"shortconv_l_cache,omitempty"`  // {arch}.shortconv.l_cache (LFM2)
	WKVHeadSize     int `json:"wkv_head_size,omitempty"`      // {arch}.wkv.head_size (RWKV)
	TokenShiftCount int `json:"token_shift_count,omitempty"`  // {arch}.token_shift_count (RWKV, default 2)

	// Multi-head latent attention (deepseek2 and relatives).
	KVLoraRank     int `json:"kv_lora_rank,omitempty"`     // {arch}.attention.kv_lora_rank
	QLoraRank      int `json:"q_lora_rank,omitempty"`      // {arch}.attention.q_lora_rank
	KeyLengthMLA   int `json:"key_length_mla,omitempty"`   // {arch}.attention.key_length_mla
	ValueLengthMLA int `json:"value_length_mla,omitempty"` // {arch}.attention.value_length_mla
	RopeDim        int `json:"rope_dim,omitempty"`         // {arch}.rope.dimension_count

	// Mixture of experts.
	ExpertFFLength       int `json:"expert_ff_length,omitempty"`        // {arch}.expert_feed_forward_length
	ExpertSharedCount    int `json:"expert_shared_count,omitempty"`     // {arch}.expert_shared_count
	ExpertSharedFFLength int `json:"expert_shared_ff_length,omitempty"` // {arch}.expert_shared_feed_forward_length
	LeadingDenseBlocks   int `json:"leading_dense_blocks,omitempty"`    // {arch}.leading_dense_block_count
	// How the router's probabilities become expert weights (llama.cpp
	// build_moe_ffn): the gating function (1 softmax, 2 sigmoid; 0 = the
	// architecture's default), whether the weights are normalised, and
	// whether the file has a selection bias per expert (exp_probs_b).
	ExpertGatingFunc  int  `json:"expert_gating_func,omitempty"`  // {arch}.expert_gating_func
	ExpertWeightsNorm bool `json:"expert_weights_norm,omitempty"` // {arch}.expert_weights_norm
	ExpertProbsBias   bool `json:"expert_probs_bias,omitempty"`   // a blk.N.exp_probs_b.bias tensor

	// FeedForwardPerLayer is {arch}.feed_forward_length when it is an array
	// (nemotron_h: 0 on attention and Mamba layers, >0 on MLP-only layers).
	FeedForwardPerLayer []int `json:"ff_per_layer,omitempty"`

	// Granite's multipliers: llama.cpp scales the embeddings and every
	// block's residual branches by them (a graph op each when set).
	EmbeddingScale float64 `json:"embedding_scale,omitempty"` // {arch}.embedding_scale
	ResidualScale  float64 `json:"residual_scale,omitempty"`  // {arch}.residual_scale

	ChunkSize             int `json:"chunk_size,omitempty"`              // {arch}.attention.chunk_size (llama4)
	FullAttentionInterval int `json:"full_attention_interval,omitempty"` // {arch}.full_attention_interval (qwen3next)

	// Tokenizer and pooling: Ollama's own engine refuses some files by these
	// (model/models/<arch>/model.go New), and the runner then falls back to llama.cpp.
	TokenizerModel string `json:"tokenizer_model,omitempty"` // tokenizer.ggml.model
	TokenizerPre   string `json:"tokenizer_pre,omitempty"`   // tokenizer.ggml.pre
	Pooling        bool   `json:"pooling,omitempty"`         // {arch}.pooling_type present and not 0 (embedding model)
}

func archParams(f *File, arch string, s *Summary) {
	a := &s.Arch
	get := func(k string) int { n, _ := archInt(f, arch, k); return n }
	a.SSMConvKernel = get("ssm.conv_kernel")
	a.SSMStateSize = get("ssm.state_size")
	a.SSMInnerSize = get("ssm.inner_size")
	a.SSMGroupCount = get("ssm.group_count")
	a.SSMTimeStepRank = get("ssm.time_step_rank")
	a.ShortConvLCache = get("shortconv.l_cache")
	a.WKVHeadSize = get("wkv.head_size")
	a.TokenShiftCount = get("token_shift_count")
	a.KVLoraRank = get("attention.kv_lora_rank")
	a.QLoraRank = get("attention.q_lora_rank")
	a.KeyLengthMLA = get("attention.key_length_mla")
	a.ValueLengthMLA = get("attention.value_length_mla")
	a.RopeDim = get("rope.dimension_count")
	a.ExpertFFLength = get("expert_feed_forward_length")
	a.ExpertSharedCount = get("expert_shared_count")
	a.ExpertSharedFFLength = get("expert_shared_feed_forward_length")
	a.LeadingDenseBlocks = get("leading_dense_block_count")
	a.ExpertGatingFunc = get("expert_gating_func")
	if v, ok := f.Get(arch + ".expert_weights_norm"); ok {
		a.ExpertWeightsNorm, _ = v.Bool()
	}
	for _, t := range f.Tensors {
		if strings.HasSuffix(t.Name, ".exp_probs_b.bias") {
			a.ExpertProbsBias = true
			break
		}
	}
	a.ChunkSize = get("attention.chunk_size")
	a.FullAttentionInterval = get("full_attention_interval")
	a.EmbeddingScale, _ = f.GetFloat(arch + ".embedding_scale")
	a.ResidualScale, _ = f.GetFloat(arch + ".residual_scale")
	if v, ok := f.Get(arch + ".feed_forward_length"); ok {
		if xs, ok := v.Ints(); ok && v.Type == ValArray {
			a.FeedForwardPerLayer = make([]int, s.BlockCount)
			for i := range a.FeedForwardPerLayer {
				if i < len(xs) {
					a.FeedForwardPerLayer[i] = int(xs[i])
				}
			}
		}
	}
	a.TokenizerModel, _ = f.GetString("tokenizer.ggml.model")
	a.TokenizerPre, _ = f.GetString("tokenizer.ggml.pre")
	if p, ok := f.GetUint(arch + ".pooling_type"); ok && p != 0 {
		a.Pooling = true
	}
}
