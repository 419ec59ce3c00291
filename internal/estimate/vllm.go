package estimate

import "fmt"

// VLLMOptions are the vLLM knobs that decide memory.
type VLLMOptions struct {
	GPUMemoryUtilization float64 `json:"gpu_memory_utilization"` // 0 = 0.9
	MaxModelLen          int     `json:"max_model_len"`          // 0 = the context
	MaxNumSeqs           int     `json:"max_num_seqs"`           // 0 = 256 (vLLM's default)
	MaxNumBatchedTokens  int     `json:"max_num_batched_tokens"` // 0 = max(max_model_len, 2048)
	CUDAContextBytes     uint64  `json:"cuda_context_bytes"`     // 0 = DefaultGPUOverhead
}

// VLLMPlan is vLLM's memory budget on the GPU(s).
type VLLMPlan struct {
	BudgetBytes      uint64  `json:"budget_bytes"` // util × VRAM
	WeightsBytes     uint64  `json:"weights_bytes"`
	ActivationBytes  uint64  `json:"activation_bytes"`
	ContextBytes     uint64  `json:"cuda_context_bytes"`
	KVAvailableBytes uint64  `json:"kv_available_bytes"`
	KVPerSeqBytes    uint64  `json:"kv_per_sequence_bytes"` // one max_model_len sequence
	MaxConcurrency   float64 `json:"max_concurrency"`       // KV available / per sequence
	CPUOffloadGB     float64 `json:"cpu_offload_gb"`        // --cpu-offload-gb needed
	Explanation      string  `json:"explanation"`
}

// planVLLM: vLLM reserves util×VRAM, loads the weights, profiles a forward pass
// of max_num_batched_tokens (the activation peak), and gives the rest to the
// KV cache, which must hold at least one max_model_len sequence. When that is
// impossible the weights that must be streamed from RAM (--cpu-offload-gb) are
// exactly the shortfall: budget − context − activation − one sequence of KV
// must cover the GPU-resident weights. Unlike "required − available + 2 GB",
// this keeps the minimum KV and the activation peak and adds no guessed buffer.
func planVLLM(in Input) VLLMPlan {
	s := in.Summary
	o := in.VLLM
	util := o.GPUMemoryUtilization
	if util <= 0 || util > 1 {
		util = 0.9
	}
	var vram uint64
	for _, g := range in.Target.GPUs {
		vram += g.VRAMBytes
	}
	mml := o.MaxModelLen
	if mml <= 0 {
		mml = defaultContext(s, in.Context)
	}
	seqs := o.MaxNumSeqs
	if seqs <= 0 {
		seqs = 256
	}
	nbt := o.MaxNumBatchedTokens
	if nbt <= 0 {
		nbt = max(mml, 2048)
	}
	cctx := o.CUDAContextBytes
	if cctx == 0 {
		cctx = DefaultGPUOverhead
	}
	p := VLLMPlan{BudgetBytes: uint64(util * float64(vram)), WeightsBytes: s.TensorBytes, ContextBytes: cctx}
	// activation peak of the profiling run: the widest intermediate (FFN up+gate
	// in f16, the logits of the sampled rows in f32) for nbt tokens.
	ff := max(s.FeedForwardLength, 4*s.EmbeddingLength)
	p.ActivationBytes = uint64(nbt)*uint64(2*ff+4*s.EmbeddingLength)*2 + uint64(min(seqs, nbt))*uint64(s.VocabSize)*4
	// KV per sequence (f16 or chosen type; vLLM pages it but the sum is the same)
	lay := ctxLayout{NCtxSeq: mml, NSeq: 1, NUbatch: 512}
	for _, b := range kvLayerBytes(s, lay, cacheType(in.CacheType), true, false) {
		p.KVPerSeqBytes += b
	}
	need := p.WeightsBytes + p.ActivationBytes + p.ContextBytes + p.KVPerSeqBytes
	if need <= p.BudgetBytes {
		p.KVAvailableBytes = p.BudgetBytes - p.WeightsBytes - p.ActivationBytes - p.ContextBytes
		if p.KVPerSeqBytes > 0 {
			p.MaxConcurrency = float64(p.KVAvailableBytes) / float64(p.KVPerSeqBytes)
		}
		p.Explanation = fmt.Sprintf("KV cache gets %.2f GB: %.1f sequences of %d tokens (max_num_seqs %d)",
			float64(p.KVAvailableBytes)/GB, p.MaxConcurrency, mml, seqs)
		return p
	}
	short := need - p.BudgetBytes
	p.CPUOffloadGB = ceilTenth(float64(short) / GB)
	p.KVAvailableBytes = p.KVPerSeqBytes
	p.MaxConcurrency = 1
	p.Explanation = fmt.Sprintf("weights %.2f GB + activation %.2f GB + CUDA context %.2f GB + one %d-token sequence of KV %.2f GB exceed the %.2f GB budget (%.0f%% of VRAM) by %.2f GB: --cpu-offload-gb %.1f streams that much of the weights from RAM every step",
		float64(p.WeightsBytes)/GB, float64(p.ActivationBytes)/GB, float64(p.ContextBytes)/GB, mml,
		float64(p.KVPerSeqBytes)/GB, float64(p.BudgetBytes)/GB, util*100, float64(short)/GB, p.CPUOffloadGB)
	return p
}

func ceilTenth(x float64) float64 {
	v := float64(int64(x*10)) / 10
	if v < x {
		v += 0.1
	}
	return v
}
