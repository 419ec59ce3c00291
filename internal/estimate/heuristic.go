package estimate

import "math"

// HeuristicInput is what page text gives when no header can be read.
type HeuristicInput struct {
	ParamsB     float64 // billions of parameters
	SizeBytes   uint64  // file size (weights)
	Quant       string
	Context     int // default 8192
	Batch       int // sequences; default 100 (the original design's batch)
	AvailableGB float64
}

// AnalyzeHeuristic applies the original design's formulas, labelled
// source "heuristic" with a note in every output:
// KV = params_B × 0.46 GB per 8K context per 100-sequence batch;
// overhead = 2 GB + params_B/10 × 0.5 GB; offload = required − available + 2 GB;
// penalty = min(95%, offload_GB/10); base speed 4B≈2000, 7B≈700, 12B≈300, 20B≈100.
func AnalyzeHeuristic(h HeuristicInput) Report {
	ctx := h.Context
	if ctx <= 0 {
		ctx = 8192
	}
	batch := h.Batch
	if batch <= 0 {
		batch = 100
	}
	model := float64(h.SizeBytes) / GB
	kv := h.ParamsB * 0.46 * float64(ctx) / 8192 * float64(batch) / 100
	oh := 2 + h.ParamsB/10*0.5
	total := model + kv + oh
	r := Report{Source: SourceHeuristic, Quantization: h.Quant, Context: ctx, Parallel: batch, CacheType: "f16",
		Notes: []string{"heuristic estimate (no GGUF header could be read): the original design's rules of thumb, not a model of the engine"}}
	r.Memory = Memory{TotalGB: round2(total), ModelGB: round2(model), KVCacheGB: round2(kv), OverheadGB: round2(oh), AvailableGB: h.AvailableGB}
	penalty := 0.0
	if total <= h.AvailableGB {
		r.WillFit, r.FitsWithoutOffload = true, true
	} else {
		off := total - h.AvailableGB + 2
		r.Memory.CPUOffloadGB = round2(off)
		penalty = math.Min(0.95, off/10)
		r.WillFit = off < model // the offloaded part must be weights
	}
	r.Verdict = verdict(r)
	r.Performance = Performance{EstimatedThroughput: math.Round(heuristicBase(h.ParamsB) * (1 - penalty)),
		QualityStars: QualityStars(h.ParamsB*1e9, h.Quant), OffloadPenalty: round2(penalty)}
	return r
}

// heuristicBase interpolates the original table (log-linear between points).
func heuristicBase(b float64) float64 {
	pts := [][2]float64{{4, 2000}, {7, 700}, {12, 300}, {20, 100}}
	if b <= pts[0][0] {
		return pts[0][1]
	}
	for i := 1; i < len(pts); i++ {
		if b <= pts[i][0] {
			a, c := pts[i-1], pts[i]
			f := (math.Log(b) - math.Log(a[0])) / (math.Log(c[0]) - math.Log(a[0]))
			return math.Exp(math.Log(a[1]) + f*(math.Log(c[1])-math.Log(a[1])))
		}
	}
	return pts[len(pts)-1][1] * pts[len(pts)-1][0] / b
}
