package estimate

// Pick is one recommended variant.
type Pick struct {
	Quantization string  `json:"quantization"`
	TokS         float64 `json:"tok_s"`
	Stars        int     `json:"quality_stars"`
	GPULayers    int     `json:"gpu_layers"`
	Reason       string  `json:"reason"`
}

// Recommendation is the best variant that fits fully and the best with offload.
type Recommendation struct {
	BestFull    *Pick `json:"best_full,omitempty"`
	BestOffload *Pick `json:"best_offload,omitempty"`
}

// MinAcceptableTokS is the decode speed below which an offloaded variant is not
// recommended over a lower quality that is faster (reading speed ≈ 5 tok/s).
const MinAcceptableTokS = 5

// Recommend chooses like a person picking between Q4_K_M and Q5_K_M: among
// variants that fit fully, the lowest quantization loss (KLD); among those
// needing offload, the lowest loss whose speed is still acceptable.
func Recommend(reports []Report) Recommendation {
	var rec Recommendation
	better := func(a Report, b *Pick) bool {
		if b == nil {
			return true
		}
		ka, _ := QuantKLD(a.Quantization)
		kb, _ := QuantKLD(b.Quantization)
		if ka != kb {
			return ka < kb
		}
		return a.Performance.EstimatedThroughput > b.TokS
	}
	pick := func(r Report, why string) *Pick {
		return &Pick{Quantization: r.Quantization, TokS: r.Performance.EstimatedThroughput,
			Stars: r.Performance.QualityStars, GPULayers: r.GPULayers, Reason: why}
	}
	for _, r := range reports {
		switch r.Verdict {
		case VerdictFits:
			if better(r, rec.BestFull) {
				rec.BestFull = pick(r, "highest quality that fits entirely on the target")
			}
		case VerdictFitsOffload:
			if r.Performance.EstimatedThroughput < MinAcceptableTokS {
				continue
			}
			if better(r, rec.BestOffload) {
				rec.BestOffload = pick(r, "highest quality with CPU offload at an acceptable speed")
			}
		}
	}
	if rec.BestOffload != nil && rec.BestFull != nil {
		kf, _ := QuantKLD(rec.BestFull.Quantization)
		ko, _ := QuantKLD(rec.BestOffload.Quantization)
		if ko >= kf {
			rec.BestOffload = nil // offloading buys nothing over the full fit
		}
	}
	return rec
}
