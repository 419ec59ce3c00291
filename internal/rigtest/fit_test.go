package rigtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
)

// knownFitGaps are the cases where fitbench's prediction differs today, each
// with its cause (docs/ESTIMATES.md). They are logged, not failed; every
// other case must match exactly, and a known gap that starts to match is
// reported so the list shrinks.
var knownFitGaps = map[string]string{}

// TestPredictLlamaFitMatchesRig: fitbench's prediction of llama_params_fit
// must equal what the real llama_params_fit chose on the same devices —
// n_ctx, n_gpu_layers and the tensor split exactly — and the chosen
// configuration must then load and decode.
func TestPredictLlamaFitMatchesRig(t *testing.T) {
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	paths, sums, err := estimatetest.WriteModels(t.TempDir(), estimatetest.Models)
	if err != nil {
		t.Fatal(err)
	}
	n, agree := 0, 0
	for i, p := range paths {
		in := estimate.Input{Summary: sums[i], Engine: estimate.EngineLlamaCpp, Parallel: 1}
		for _, fc := range FitCases(in) {
			q := in
			q.Target = estimate.Target{GPUs: fc.GPUs, RAMBytes: RAM}
			pred := estimate.PredictLlamaFit(estimate.LlamaFitInput{In: q, UserCtx: fc.Ctx})
			res, err := Run(ctx, bin, SimGPUs(fc.GPUs), FitArgs(p, in, fc)...)
			if err != nil {
				t.Fatal(err)
			}
			label := fmt.Sprintf("%s/%s", estimatetest.Models[i].Name, fc.Name)
			n++
			if res.Fit == nil {
				t.Errorf("%s: the rig printed no fit", label)
				continue
			}
			got := res.Fit
			ok := got.NCtx == pred.NCtx || (got.NCtx == 0 && pred.NCtx == sums[i].ContextLength)
			ok = ok && got.NGPULayers == pred.NGPULayers
			if len(fc.GPUs) > 1 && pred.Changed && pred.Aborted == "" {
				for d := range fc.GPUs {
					if d >= len(got.TensorSplit) || !SameSplit(got.TensorSplit[d], pred.TensorSplit[d]) {
						ok = false
					}
				}
			}
			t.Logf("%-28s llama_params_fit n_ctx=%d ngl=%d ts=%v | fitbench n_ctx=%d ngl=%d ts=%v (%s)",
				label, got.NCtx, got.NGPULayers, got.TensorSplit, pred.NCtx, pred.NGPULayers, pred.TensorSplit, pred.Note)
			gap, known := knownFitGaps[label]
			switch {
			case ok && known:
				agree++
				t.Logf("%s: listed as a known gap (%s) but now matches: remove it from knownFitGaps", label, gap)
			case ok:
				agree++
			case known:
				t.Logf("%s: KNOWN GAP (%s)", label, gap)
			default:
				t.Errorf("%s: llama_params_fit chose n_ctx=%d ngl=%d ts=%v, fitbench predicted n_ctx=%d ngl=%d ts=%v",
					label, got.NCtx, got.NGPULayers, got.TensorSplit, pred.NCtx, pred.NGPULayers, pred.TensorSplit)
			}
			if !res.OK {
				t.Errorf("%s: llama.cpp's own fit did not load: %s", label, res.Error)
			}
		}
	}
	t.Logf("fit agreement: %d of %d", agree, n)
}
