package analyze

import (
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/hub"
)

// listingVariants returns the variants to show: all of the listing's
// complete ones, and the selected one even if odd.
func listingVariants(l *hub.Listing, sel *hub.Variant) []hub.Variant {
	var out []hub.Variant
	seen := false
	for _, v := range l.Variants {
		if v.Incomplete && !sameVariant(v, *sel) {
			continue
		}
		if sameVariant(v, *sel) {
			seen = true
		}
		out = append(out, v)
	}
	if !seen {
		out = append(out, *sel)
	}
	return out
}

func sameVariant(a, b hub.Variant) bool {
	return len(a.Files) > 0 && len(b.Files) > 0 && a.Files[0].Path == b.Files[0].Path
}

// scaleSummary derives another quantization's summary from the selected one:
// the shapes (layers, heads, context) are the same across a repo's variants,
// only the bytes per tensor differ. Each byte group is scaled by the ratio of
// the files' tensor-data sizes (file size minus the header, which is nearly
// identical across variants). Reading every variant's header would cost a few
// MB of transfer each; the selected variant is always read for real.
func scaleSummary(s gguf.Summary, selSize int64, v hub.Variant) gguf.Summary {
	header := int64(0)
	if selSize > int64(s.TensorBytes) {
		header = selSize - int64(s.TensorBytes)
	}
	num := float64(v.SizeBytes - header)
	den := float64(selSize - header)
	if num <= 0 || den <= 0 {
		return s
	}
	f := num / den
	scale := func(b uint64) uint64 { return uint64(float64(b) * f) }
	out := s
	out.TensorBytes = scale(s.TensorBytes)
	out.LayerBytes = make([]uint64, len(s.LayerBytes))
	for i, b := range s.LayerBytes {
		out.LayerBytes[i] = scale(b)
	}
	if len(s.ExpertLayerBytes) > 0 {
		out.ExpertLayerBytes = make([]uint64, len(s.ExpertLayerBytes))
		for i, b := range s.ExpertLayerBytes {
			out.ExpertLayerBytes[i] = scale(b)
		}
	}
	out.TokenEmbdBytes = scale(s.TokenEmbdBytes)
	out.OutputBytes = scale(s.OutputBytes)
	out.OtherBytes = scale(s.OtherBytes)
	if v.Quant != "" {
		out.QuantLabel = v.Quant
	}
	return out
}

func variantOf(repo string, v hub.Variant, r estimate.Report, basis string, selected bool) Variant {
	return Variant{
		Quant: v.Quant, InstallID: installID(repo, v), Files: v.Files, SizeBytes: v.SizeBytes,
		SizeGB: gbOf(v.SizeBytes), Verdict: r.Verdict, WillFit: r.WillFit, FitsWithoutOffload: r.FitsWithoutOffload,
		TotalGB: r.Memory.TotalGB, CPUOffloadGB: r.Memory.CPUOffloadGB, GPULayers: r.GPULayers,
		TotalLayers: r.TotalLayers, EstimatedThroughput: r.Performance.EstimatedThroughput,
		QualityStars: r.Performance.QualityStars, Selected: selected, Basis: basis,
	}
}

func markRecommended(vs []Variant, rec estimate.Recommendation) {
	for i := range vs {
		switch {
		case rec.BestFull != nil && vs[i].Quant == rec.BestFull.Quantization:
			vs[i].Recommended = "full"
		case rec.BestOffload != nil && vs[i].Quant == rec.BestOffload.Quantization:
			vs[i].Recommended = "offload"
		}
	}
}

func facts(s gguf.Summary) ModelFacts {
	kv := 0
	for _, h := range s.HeadCountKV {
		kv = max(kv, h)
	}
	return ModelFacts{Architecture: s.Architecture, ParamCount: s.ParamCount, ParamsB: float64(s.ParamCount) / 1e9,
		ContextLength: s.ContextLength, Layers: s.BlockCount, HeadCount: s.HeadCount, HeadCountKV: kv,
		SlidingWindow: s.SlidingWindow, ExpertCount: s.ExpertCount, ExpertsUsed: s.ExpertUsedCount,
		VocabSize: s.VocabSize}
}
