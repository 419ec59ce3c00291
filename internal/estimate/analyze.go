package estimate

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// Analyze estimates one variant. For the llama.cpp family it plans the largest
// -ngl that fits the GPU(s) with the safety margin (or uses in.GPULayers), and
// reports what then lives in system RAM; for vLLM it computes the budget.
func Analyze(in Input) Report {
	s := in.Summary
	if in.Engine == "" {
		in.Engine = EngineLlamaCpp
	}
	in.Parallel = max(in.Parallel, 1)
	var parNote string
	if in.Engine == EngineOllama {
		in.Parallel, parNote = ollamaParallel(s, profileFor(s), in.Parallel)
	}
	r := Report{Source: SourceHeader, Engine: in.Engine, Quantization: s.QuantLabel,
		TotalLayers: s.BlockCount + 1, Parallel: in.Parallel, CacheType: cacheType(in.CacheType)}
	if len(in.Target.GPUs) == 0 {
		r.Notes = append(r.Notes, "no GPU in the target: analysed for the CPU")
	}
	if parNote != "" {
		r.Notes = append(r.Notes, parNote)
	}
	var p llamaPlan
	if in.GPULayers != nil {
		p = planFor(in, min(max(*in.GPULayers, 0), s.BlockCount+1))
	} else {
		p = bestPlan(in)
	}
	r.GPULayers = p.ngl
	r.EnginePath = p.path
	_, r.EnginePathReason = enginePath(in.Engine, s, p.prof, in.ProjectorBytes > 0)
	r.StateBytes = p.state
	if r.EnginePathReason != "" {
		r.Notes = append(r.Notes, r.EnginePathReason)
	}
	if in.ProjectorBytes > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("vision projector (%.2f GB) included in the weights; the image encoder's own compute buffer is not", float64(in.ProjectorBytes)/GB))
	} else if visionArch(s.Architecture) {
		r.Notes = append(r.Notes, "no vision projector (mmproj) file with this variant: the estimate is text-only, image input left out")
	}
	if p.prof.approx {
		r.Approximate = true
		r.Notes = append(r.Notes, fmt.Sprintf("fitbench has no memory profile of its own for architecture %q: estimated with the closest one, approximate", s.Architecture))
	}
	if in.Engine == EngineLlamaCpp && s.Architecture == "gptoss" {
		// Ollama's converter names gpt-oss "gptoss" (its engine loads it,
		// model/models/gptoss); llama.cpp knows only "gpt-oss"
		// (src/llama-arch.cpp LLM_ARCH_OPENAI_MOE) and refuses the file.
		r.Notes = append(r.Notes, `this file names its architecture "gptoss", as Ollama's converter writes it: llama-server refuses it ("unknown model architecture: 'gptoss'"; llama.cpp knows gpt-oss as "gpt-oss"); run it in Ollama or use a GGUF converted by llama.cpp`)
	}
	r.Context = p.lay.NCtxSeq
	r.FlashAttention = p.flash
	if !p.flash && r.CacheType != "f16" {
		r.CacheType = "f16"
		r.Notes = append(r.Notes, "a quantized KV cache needs flash attention: f16 assumed")
	}
	fillMemory(&r, p, in)
	if in.Engine == EngineVLLM && len(in.Target.GPUs) > 0 {
		v := planVLLM(in)
		r.VLLM = &v
		r.Memory.CPUOffloadGB = v.CPUOffloadGB
		r.FitsWithoutOffload = v.CPUOffloadGB == 0
		r.WillFit = r.FitsWithoutOffload || float64(in.Target.RAMBytes) >= v.CPUOffloadGB*GB
	}
	r.Verdict = verdict(r)
	settleTarget(&r, in)
	si := speedInputs(in, p)
	sp := EstimateSpeed(si, in.Parallel, DefaultGPUEta, DefaultCPUEta, DefaultT0)
	r.Performance = Performance{EstimatedThroughput: round1(sp.DecodeTokS), BatchThroughput: round1(sp.BatchTokS),
		PrefillTokS: round1(sp.PrefillTokS), QualityStars: QualityStars(float64(s.ParamCount), s.QuantLabel)}
	if p.ngl < s.BlockCount+1 && len(in.Target.GPUs) > 0 {
		full := planLlama(in, s.BlockCount+1)
		fs := EstimateSpeed(speedInputs(in, full), 1, DefaultGPUEta, DefaultCPUEta, DefaultT0)
		if fs.DecodeTokS > 0 {
			r.Performance.OffloadPenalty = round2(math.Max(0, 1-sp.DecodeTokS/fs.DecodeTokS))
		}
	}
	if in.Calibration != nil && in.Calibration.Samples > 0 {
		c := in.Calibration
		cs := EstimateSpeed(si, in.Parallel, c.GPUEta, c.CPUEta, c.T0)
		r.Performance.CalibratedThroughput = round1(cs.DecodeTokS)
		r.Performance.Calibrated = true
	}
	r.Advice = advice(r, in)
	addOffloadPlans(&r, in, p) // offload.go: MoE plan, llama-server's fit, command lines
	return r
}

// planFor is the plan of -ngl / num_gpu ngl: under Ollama with GPUs, the
// layers go where Ollama's scheduler puts them (ollamalayout.go), which may
// be fewer than asked; otherwise llama.cpp's split.
func planFor(in Input, ngl int) llamaPlan {
	p, _ := planForOllama(in, ngl)
	return p
}

// planForOllama is planFor and, under Ollama, whether its scheduler would
// never finish placing num_gpu ngl (olFindBestFit).
func planForOllama(in Input, ngl int) (llamaPlan, bool) {
	if in.Engine == EngineOllama && len(in.Target.GPUs) > 0 {
		_, p, _, hang := ollamaLayout(in, ngl)
		return p, hang
	}
	return planLlama(in, ngl), false
}

// bestPlan is the largest -ngl whose GPU totals stay under capacity − margin.
func bestPlan(in Input) llamaPlan {
	n := in.Summary.BlockCount + 1
	if len(in.Target.GPUs) == 0 {
		return planLlama(in, 0)
	}
	for ngl := n; ngl > 0; ngl-- {
		p, hang := planForOllama(in, ngl)
		if hang || p.ngl < ngl {
			continue // Ollama would hang, or places fewer (that count is tried on its own)
		}
		if gpusFit(p, in) {
			return p
		}
	}
	// -ngl 0 still puts the offloaded ops' compute buffer on the first GPU
	// (fit.go); when even that does not fit, run with the GPUs hidden
	if p := planFor(in, 0); gpusFit(p, in) {
		return p
	}
	return cpuFallback(in)
}

func gpusFit(p llamaPlan, in Input) bool {
	for i, g := range in.Target.GPUs {
		margin := in.SafetyMargin
		if margin == 0 {
			margin = g.VRAMBytes / 20
		}
		d := p.devices[i]
		if d.TotalBytes+margin > d.CapacityBytes {
			return false
		}
	}
	return true
}

func fillMemory(r *Report, p llamaPlan, in Input) {
	m := Memory{Devices: p.devices}
	var gpuCap, cpuW uint64
	var w, kv, oh, tot uint64
	for i, d := range p.devices {
		w += d.WeightsBytes
		kv += d.KVBytes
		oh += d.ComputeBytes + d.OutputBytes + d.OverheadBytes
		tot += d.TotalBytes
		if i < len(in.Target.GPUs) {
			gpuCap += d.CapacityBytes
		} else {
			cpuW = d.WeightsBytes - in.Summary.TokenEmbdBytes - in.Summary.OtherBytes
		}
	}
	m.ModelGB, m.KVCacheGB, m.OverheadGB, m.TotalGB = gb(w), gb(kv), gb(oh), gb(tot)
	if len(in.Target.GPUs) > 0 {
		m.AvailableGB = gb(gpuCap)
		m.CPUOffloadGB = gb(cpuW)
	} else {
		m.AvailableGB = gb(in.Target.RAMBytes)
	}
	r.Memory = m
	ramOK := ramFits(p, in)
	if len(in.Target.GPUs) == 0 {
		r.WillFit = ramOK
		r.FitsWithoutOffload = ramOK
		return
	}
	full := p.ngl == in.Summary.BlockCount+1 && gpusFit(p, in)
	r.FitsWithoutOffload = full
	r.WillFit = ramOK && (full || gpusFit(p, in))
}

func verdict(r Report) string {
	switch {
	case !r.WillFit:
		return VerdictNoFit
	case r.FitsWithoutOffload:
		return VerdictFits
	default:
		return VerdictFitsOffload
	}
}

// SpeedInputsFor is the bytes-per-token input of the speed model for the plan
// Analyze would choose for in (or for in.GPULayers when set). The analysis
// orchestrator pairs it with a decode speed measured in the registry to make a
// Measured sample for Calibrate, so the fit sees exactly the byte counts the
// estimate uses. Set in.KVTokens to the tokens the benchmark held in its cache.
func SpeedInputsFor(in Input) SpeedInputs {
	if in.Engine == "" {
		in.Engine = EngineLlamaCpp
	}
	in.Parallel = max(in.Parallel, 1)
	if in.Engine == EngineOllama {
		in.Parallel, _ = ollamaParallel(in.Summary, profileFor(in.Summary), in.Parallel)
	}
	var p llamaPlan
	if in.GPULayers != nil {
		p = planFor(in, min(max(*in.GPULayers, 0), in.Summary.BlockCount+1))
	} else {
		p = bestPlan(in)
	}
	return speedInputs(in, p)
}

// speedInputs turns a plan into bytes read per token on each side.
func speedInputs(in Input, p llamaPlan) SpeedInputs {
	s := in.Summary
	si := SpeedInputs{CPUBandwidth: in.Target.CPUBandwidth}
	if si.CPUBandwidth == 0 {
		si.CPUBandwidth = DefaultCPUBandwidth
	}
	split := splitByFree(in.Target.GPUs)
	// The KV read per token covers the cells in use: llama.cpp attends over the
	// used cells padded to 256, not the whole cache. Default: half the context
	// (an average over a long conversation).
	kvFrac := 0.5
	if in.KVTokens > 0 && p.lay.NCtxSeq > 0 {
		kvFrac = math.Min(1, float64(pad(in.KVTokens, 256))/float64(p.lay.NCtxSeq))
	}
	kv := kvLayerBytes(s, ctxLayout{NCtxSeq: p.lay.NCtxSeq, NSeq: 1, NUbatch: p.lay.NUbatch},
		cacheType(in.CacheType), p.flash, in.Engine == EngineOllama)
	var onGPU, onCPU int
	for il := 0; il < s.BlockCount; il++ {
		b := float64(0)
		if il < len(s.LayerBytes) {
			b = float64(s.LayerBytes[il])
			if s.ExpertCount > 0 && il < len(s.ExpertLayerBytes) {
				e := float64(s.ExpertLayerBytes[il])
				b = b - e + e*float64(s.ExpertUsedCount)/float64(s.ExpertCount)
			}
		}
		kvb := float64(kv[il]) * kvFrac
		if d := layerDevice(il, s.BlockCount, p.ngl, split); d >= 0 {
			si.GPUBytes += b
			si.GPUKVBytes += kvb
			onGPU++
		} else {
			si.CPUBytes += b
			si.CPUKVBytes += kvb
			onCPU++
		}
	}
	outB := float64(s.OutputBytes)
	if s.OutputTied {
		outB = float64(s.TokenEmbdBytes)
	}
	if layerDevice(s.BlockCount, s.BlockCount, p.ngl, split) >= 0 {
		si.GPUBytes += outB
	} else {
		si.CPUBytes += outB
	}
	if onGPU > 0 && onCPU > 0 {
		si.Splits = 1
	}
	if s.TensorBytes > 0 {
		si.CPUParams = si.CPUBytes * float64(s.ParamCount) / float64(s.TensorBytes)
		si.CPUParamRate = float64(cmp.Or(in.Target.CPUThreads, DefaultCPUThreads)) * cpuRate(s.QuantLabel)
	}
	for _, g := range in.Target.GPUs {
		if si.GPUBandwidth == 0 || g.BandwidthGBs < si.GPUBandwidth {
			si.GPUBandwidth = g.BandwidthGBs
		}
		si.FLOPS += g.FP16TFLOPS * 1e12
	}
	if len(in.Target.GPUs) == 0 || si.GPUBytes == 0 {
		si.FLOPS = in.Target.CPUGFLOPS * 1e9
	}
	if si.GPUBandwidth == 0 && si.GPUBytes > 0 {
		si.GPUBandwidth = 300
	}
	si.Params = float64(s.ParamCount)
	return si
}

// cpuRate is the per-thread dot-product rate for a file's weight type.
func cpuRate(quant string) float64 {
	switch strings.ToUpper(quant) {
	case "F16", "BF16", "F32":
		return DefaultCPUFloatRate
	}
	return DefaultCPUQuantRate
}

func advice(r Report, in Input) []string {
	if in.Engine == EngineVLLM && r.VLLM != nil {
		return vllmAdvice(r)
	}
	var a []string
	switch r.Verdict {
	case VerdictFitsOffload:
		a = append(a, fmt.Sprintf("%d of %d layers run on the CPU (%.2f GB in system RAM); expect about %.0f%% lower speed",
			r.TotalLayers-r.GPULayers, r.TotalLayers, r.Memory.CPUOffloadGB, r.Performance.OffloadPenalty*100))
	case VerdictNoFit:
		a = append(a, "does not fit in GPU + system RAM: pick a smaller quantization or a smaller model")
	}
	if r.Verdict != VerdictFits {
		if r.Context > 4096 {
			a = append(a, fmt.Sprintf("a shorter context (--ctx %d) shrinks the KV cache (%.2f GB now)", r.Context/2, r.Memory.KVCacheGB))
		}
		if r.CacheType == "f16" && in.Engine != EngineVLLM {
			a = append(a, "a q8_0 KV cache halves it (llama-server -ctk q8_0 -ctv q8_0 -fa on; Ollama OLLAMA_KV_CACHE_TYPE=q8_0 OLLAMA_FLASH_ATTENTION=1)")
		}
	}
	return a
}

func gb(b uint64) float64      { return round2(float64(b) / GB) }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round1(x float64) float64 { return math.Round(x*10) / 10 }

// vllmAdvice says the plan in vLLM's own terms (its flags), not llama.cpp's
// layers: vLLM streams --cpu-offload-gb of weights from RAM every step.
func vllmAdvice(r Report) []string {
	v := r.VLLM
	var a []string
	switch r.Verdict {
	case VerdictFitsOffload:
		a = append(a, fmt.Sprintf("vllm serve … --cpu-offload-gb %.1f: %.1f GB of weights stay in system RAM and are streamed to the GPU every step, which is slow", v.CPUOffloadGB, v.CPUOffloadGB))
	case VerdictNoFit:
		a = append(a, "does not fit vLLM's budget even with --cpu-offload-gb: pick a smaller quantization or a smaller model")
	}
	if r.Verdict != VerdictFits {
		if r.Context > 4096 {
			a = append(a, fmt.Sprintf("a shorter --max-model-len (%d) shrinks the KV cache one sequence needs", r.Context/2))
		}
		if r.CacheType != "fp8" {
			a = append(a, "--kv-cache-dtype fp8 halves the KV cache")
		}
	}
	if r.Verdict == VerdictFits && v.MaxConcurrency > 0 {
		a = append(a, fmt.Sprintf("--gpu-memory-utilization leaves %.2f GB of KV cache: about %.1f sequences of %d tokens at once (--max-num-seqs)", float64(v.KVAvailableBytes)/GB, v.MaxConcurrency, r.Context))
	}
	return a
}
