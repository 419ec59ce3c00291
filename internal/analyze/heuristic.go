package analyze

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/source"
)

// heuristic answers from the pasted page's hints when no header can be read
// (offline, or the Hub is unreachable). Every figure is labelled heuristic.
func (a *Analyzer) heuristic(ctx context.Context, ref source.Ref, quant string, req Request,
	target estimate.Target, assumed Assumed, cause error) (*Result, error) {
	hints := ref.Hints
	if len(hints.Quants) == 0 && hints.ParamsB <= 0 {
		return nil, cause
	}
	avail := 0.0
	for _, g := range target.GPUs {
		avail += float64(g.VRAMBytes) / estimate.GB
	}
	if len(target.GPUs) == 0 {
		avail = float64(target.RAMBytes) / estimate.GB
	}
	paramsB := hints.ParamsB
	sel := -1
	for i, q := range hints.Quants {
		if quant != "" && strings.EqualFold(q.Quant, quant) {
			sel = i
		}
	}
	if sel < 0 {
		for _, want := range []string{"Q4_K_M", "Q8_0"} {
			for i, q := range hints.Quants {
				if sel < 0 && strings.EqualFold(q.Quant, want) {
					sel = i
				}
			}
		}
	}
	if sel < 0 && len(hints.Quants) > 0 {
		sel = 0
	}
	analyze := func(q source.QuantHint) estimate.Report {
		return estimate.AnalyzeHeuristic(estimate.HeuristicInput{ParamsB: paramsB, SizeBytes: uint64(max(q.SizeBytes, 0)),
			Quant: q.Quant, Context: req.Context, AvailableGB: avail})
	}
	var main estimate.Report
	var variants []Variant
	var reports []estimate.Report
	for i, q := range hints.Quants {
		r := analyze(q)
		reports = append(reports, r)
		v := hub.Variant{Quant: q.Quant, SizeBytes: q.SizeBytes}
		if q.File != "" {
			v.Files = []hub.File{{Path: q.File, Size: q.SizeBytes}}
		}
		variants = append(variants, variantOf(ref.Repo, v, r, "heuristic", i == sel))
		if i == sel {
			main = r
		}
	}
	if sel < 0 {
		main = analyze(source.QuantHint{Quant: quant})
	}
	res := &Result{Success: true, Report: main, Hardware: assumed, ModelID: ref.Repo, Repo: ref.Repo,
		Model: ModelFacts{Architecture: hints.Architecture, ParamsB: paramsB}}
	res.Recommendation = estimate.Recommend(reports)
	markRecommended(variants, res.Recommendation)
	res.Variants = variants
	res.Comparison = a.compare(ctx, main)
	res.InstallID = ref.Repo + ":" + main.Quantization
	res.ModelName = strings.TrimSuffix(path.Base(ref.Repo), "-GGUF") + " " + main.Quantization
	if sel >= 0 {
		res.SizeBytes = hints.Quants[sel].SizeBytes
		res.SizeGB = gbOf(res.SizeBytes)
	}
	res.Warnings = append(res.Warnings, fmt.Sprintf(
		"heuristic estimate from the pasted page only (%v): connect to the Hub for figures read from the model's header", cause))
	return res, nil
}
