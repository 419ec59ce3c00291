package estimate

import (
	"fmt"
	"math"
)

// Pick is one recommended variant.
type Pick struct {
	Quantization string  `json:"quantization"`
	TokS         float64 `json:"tok_s"`
	Stars        int     `json:"quality_stars"`
	GPULayers    int     `json:"gpu_layers"`
	// Reason is one line saying why this variant was chosen.
	Reason string `json:"reason"`
}

// Recommendation is the best variant that fits fully and the best with offload.
type Recommendation struct {
	BestFull    *Pick `json:"best_full,omitempty"`
	BestOffload *Pick `json:"best_offload,omitempty"`
}

// MinAcceptableTokS is the decode speed below which an offloaded variant is not
// recommended over a lower quality that is faster (reading speed ≈ 5 tok/s).
const MinAcceptableTokS = 5

// JNDKLD is the just-noticeable difference in quantization loss: variants whose
// mean KL divergence against f16 (Llama-3-8B, wikitext-2) differs by less are
// treated as the same quality, and the faster, smaller one is recommended.
// 0.005 nats is the step from F16 to Q8_0 (0.0014) and from Q8_0 to Q6_K
// (0.0041) — quantizations described as indistinguishable in use — but not
// from F16 to Q6_K (0.0055) or Q6_K to Q5_K_M (0.0055). See docs/ESTIMATES.md.
const JNDKLD = 0.005

// unknownKLD is assumed for a quantization the table does not know (a 4-bit-like
// loss, as QualityStars assumes), so an unknown label never wins on quality.
const unknownKLD = 0.05

func kldOf(quant string) float64 {
	if k, ok := QuantKLD(quant); ok {
		return k
	}
	return unknownKLD
}

// speedOf is the figure a person would compare: calibrated to this machine
// when there is one.
func speedOf(r Report) float64 {
	if r.Performance.Calibrated && r.Performance.CalibratedThroughput > 0 {
		return r.Performance.CalibratedThroughput
	}
	return r.Performance.EstimatedThroughput
}

// Recommend chooses like a person picking between quantizations: among the
// variants that fit fully, the best quality — except that a variant within a
// just-noticeable difference of it (JNDKLD) that is faster wins (ties in
// speed go to the smaller one); among those needing offload, the same among
// the ones still at an acceptable speed, shown only when it is noticeably
// better than the full fit. Each pick says why in one line.
func Recommend(reports []Report) Recommendation {
	var full, off []Report
	for _, r := range reports {
		switch r.Verdict {
		case VerdictFits:
			full = append(full, r)
		case VerdictFitsOffload:
			if speedOf(r) >= MinAcceptableTokS {
				off = append(off, r)
			}
		}
	}
	var rec Recommendation
	rec.BestFull = choose(full, "highest quality that fits entirely on the target")
	rec.BestOffload = choose(off, "highest quality with CPU offload at an acceptable speed")
	if rec.BestOffload != nil && rec.BestFull != nil && kldOf(rec.BestFull.Quantization)-kldOf(rec.BestOffload.Quantization) <= JNDKLD {
		rec.BestOffload = nil // offloading buys no noticeable quality over the full fit
	}
	return rec
}

// choose picks from one group: the best quality, or the fastest (then
// smallest) variant within a just-noticeable difference of it.
func choose(group []Report, bestWhy string) *Pick {
	if len(group) == 0 {
		return nil
	}
	best := group[0]
	for _, r := range group[1:] {
		if kr, kb := kldOf(r.Quantization), kldOf(best.Quantization); kr < kb || (kr == kb && faster(r, best)) {
			best = r
		}
	}
	pick := best
	for _, r := range group {
		if kldOf(r.Quantization)-kldOf(best.Quantization) <= JNDKLD && faster(r, pick) {
			pick = r
		}
	}
	p := &Pick{Quantization: pick.Quantization, TokS: pick.Performance.EstimatedThroughput,
		Stars: pick.Performance.QualityStars, GPULayers: pick.GPULayers, Reason: bestWhy}
	if pick.Quantization != best.Quantization {
		p.Reason = fmt.Sprintf("%s over %s: quality within a just-noticeable difference (KL divergence %.4f vs %.4f, under %.3f), %s",
			pick.Quantization, best.Quantization, kldOf(pick.Quantization), kldOf(best.Quantization), JNDKLD, gain(pick, best))
	}
	return p
}

// faster says a is the better pick than b on speed, ties (within 1%) going to
// the smaller weights.
func faster(a, b Report) bool {
	sa, sb := speedOf(a), speedOf(b)
	if math.Abs(sa-sb) <= 0.01*math.Max(sa, sb) {
		return a.Memory.ModelGB < b.Memory.ModelGB
	}
	return sa > sb
}

func gain(a, b Report) string {
	s := ""
	if sa, sb := speedOf(a), speedOf(b); sb > 0 && sa > sb*1.01 {
		s = fmt.Sprintf("%.1f× faster", sa/sb)
	} else {
		s = "as fast"
	}
	if a.Memory.ModelGB > 0 && b.Memory.ModelGB > a.Memory.ModelGB {
		s += fmt.Sprintf(" and %.0f%% smaller", 100*(1-a.Memory.ModelGB/b.Memory.ModelGB))
	}
	return s
}
