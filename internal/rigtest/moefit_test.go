package rigtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
)

// knownMoEFitGaps are MoE fit cases where fitbench's prediction differs
// today, with the cause; logged, not failed (a listed case that matches is
// reported so the list shrinks). Every other case must match exactly.
var knownMoEFitGaps = map[string]string{
	// step 2 cuts ⌈deficit ÷ KV bytes per cell⌉ cells: with 1 KV head
	// (qwen3moe, granite) or MLA's 48-value latent (deepseek2) a cell is a
	// few hundred bytes, so the compute buffers' error in the projected total
	// (fitbench +5…+20% at full offload on these models) moves n_ctx by 8 to
	// 630 cells
	"moe-qwen3/ctx-cut":          "n_ctx 6144 vs 6136 (compute in the deficit)",
	"moe-deepseek2/ctx-cut":      "n_ctx 6144 vs 6772 (compute in the deficit)",
	"moe-granite/ctx-cut":        "n_ctx 6141 vs 6061 (compute in the deficit)",
	"moe-deepseek2/experts-half": "n_ctx 4874 vs 5502 (compute in the deficit)",
	"moe-gptoss/ctx-cut":         "n_ctx 6144 vs 7990 (compute in the deficit)",
	// step 4 on one GPU: the rig's exact bytes for llama_params_fit's probes
	// (estimate.TestReplayMoEFitOneGPUFromRigLog, which replays them to the
	// rig's choice) are under fitbench's by the expert-tensor copy fitbench
	// charges GPU0 (+4.5 MiB: at 4096 cells the rig finds room for it in the
	// graph) and 1–2.5 MiB of compute, so fitbench converts one layer fewer
	// (2 full + block 2 GATE vs 3 full + block 3 ATTN)
	"moe-qwen3/experts-half": "one layer fewer converted (expert copy bound, compute)",
	// two GPUs: the per-GPU compute buffers of a split model (−21…+40% on
	// these models) move the last GPU's dense-only count and the overflow of
	// the first GPU's partial layer. Three cases then hit a llama.cpp hang
	// (seen in the rig's log): in step 4 the first GPU is itself
	// id_dense_start, its dense-only layers are all converted (n_part 0), a
	// test step converts nothing (the loop breaks at that device, which still
	// has layers), is accepted, and delta never shrinks — llama-server never
	// finishes starting. fitbench's replay has the same loop (it stops and
	// says so, maxFitSteps) but its step 3 put every dense-only layer on the
	// last GPU, so it does not get there.
	"moe-qwen3/2gpu-layers":         "GPU1 keeps block 3 whole in the rig (two-GPU compute)",
	"moe-qwen3/2gpu-experts-half":   "block 1 GATE vs UP to GPU1 (two-GPU compute)",
	"moe-gptoss/2gpu-layers":        "ts 4,1 + experts to GPU1 vs 3,2 + block 3 to RAM (two-GPU compute)",
	"moe-deepseek2/2gpu-layers":     "llama_params_fit hangs in step 4 (two-GPU compute: fitbench's step 3 differs)",
	"moe-granite/2gpu-layers":       "llama_params_fit hangs in step 4 (two-GPU compute: fitbench's step 3 differs)",
	"moe-granite/2gpu-experts-half": "llama_params_fit hangs in step 4 (two-GPU compute: fitbench's step 3 differs)",
}

// hangAfter: a fit case that has not finished by then hangs (the others
// take well under 10 s).
const hangAfter = 20 * time.Second

// MoEFitCases are FitCases plus devices between "the dense part fits" and
// "everything fits": 1 GiB margin + the full need less half (and less 90%) of
// the expert bytes, on one GPU and on two (2:1).
func MoEFitCases(in estimate.Input) []FitCase {
	q := in
	q.Context = in.Summary.ContextLength / max(in.Parallel, 1)
	q.Target = estimate.Target{GPUs: []estimate.GPU{gpu("big", 64<<30)}, RAMBytes: RAM}
	d := estimate.Analyze(q).Memory.Devices[0]
	need := d.TotalBytes - d.OverheadBytes
	oh, m, e := uint64(estimate.DefaultGPUOverhead), uint64(estimate.LlamaFitMargin), expertBytes(in)
	return append(FitCases(in),
		FitCase{"experts-half", []estimate.GPU{gpu("g0", oh+m+need-e/2)}, 0},
		FitCase{"experts-most", []estimate.GPU{gpu("g0", oh+m+need-e*9/10)}, 0},
		FitCase{"2gpu-experts-half", []estimate.GPU{gpu("g0", oh+m+(need-e/2)*2/3), gpu("g1", oh+m+(need-e/2)/3)}, 0},
	)
}

// TestPredictLlamaFitMoEMatchesRig: for the MoE models, fitbench's
// prediction of llama_params_fit must equal what the real one chose on the
// same simulated devices — n_ctx, n_gpu_layers, the tensor split and the
// tensor overrides (which blocks' experts, or which part of a block, went to
// system RAM or the next GPU) exactly — and the chosen configuration must load
// and decode.
func TestPredictLlamaFitMoEMatchesRig(t *testing.T) {
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	paths, sums, err := estimatetest.WriteModels(t.TempDir(), estimatetest.MoEModels)
	if err != nil {
		t.Fatal(err)
	}
	n, agree, withOverrides := 0, 0, 0
	for i, p := range paths {
		in := estimate.Input{Summary: sums[i], Engine: estimate.EngineLlamaCpp, Parallel: 1}
		for _, fc := range MoEFitCases(in) {
			q := in
			q.Target = estimate.Target{GPUs: fc.GPUs, RAMBytes: RAM}
			pred := estimate.PredictLlamaFit(estimate.LlamaFitInput{In: q, UserCtx: fc.Ctx})
			label := fmt.Sprintf("%s/%s", estimatetest.MoEModels[i].Name, fc.Name)
			n++
			// llama_params_fit can loop forever (see knownMoEFitGaps)
			rctx, rcancel := context.WithTimeout(ctx, hangAfter)
			res, err := Run(rctx, bin, SimGPUs(fc.GPUs), FitArgs(p, in, fc)...)
			hung := rctx.Err() == context.DeadlineExceeded
			rcancel()
			if hung {
				t.Logf("%-28s llama_params_fit did not finish in %v | fitbench: %s %s", label, hangAfter, pred.Aborted, pred.Note)
				if strings.Contains(pred.Aborted, "does not converge") {
					agree++
				} else if gap, known := knownMoEFitGaps[label]; known {
					t.Logf("%s: KNOWN GAP (%s)", label, gap)
				} else {
					t.Errorf("%s: llama_params_fit never finished; fitbench predicted n_ctx=%d ngl=%d ts=%v", label, pred.NCtx, pred.NGPULayers, pred.TensorSplit)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Fit == nil {
				t.Errorf("%s: the rig printed no fit", label)
				continue
			}
			got := res.Fit
			var rigOT []string
			for _, o := range got.Overrides {
				rigOT = append(rigOT, o.Pattern+"="+strings.Replace(o.Buft, "SIMGPU", "GPU", 1))
			}
			var ourOT []string
			for _, o := range pred.Overrides {
				ourOT = append(ourOT, o.Pattern+"="+o.Buft)
			}
			if len(rigOT) > 0 {
				withOverrides++
			}
			ok := got.NCtx == pred.NCtx || (got.NCtx == 0 && pred.NCtx == sums[i].ContextLength)
			ok = ok && got.NGPULayers == pred.NGPULayers && strings.Join(rigOT, " ") == strings.Join(ourOT, " ")
			if len(fc.GPUs) > 1 && pred.Changed && pred.Aborted == "" {
				for d := range fc.GPUs {
					if d >= len(got.TensorSplit) || d >= len(pred.TensorSplit) || int(got.TensorSplit[d]) != pred.TensorSplit[d] {
						ok = false
					}
				}
			}
			t.Logf("%-28s llama_params_fit n_ctx=%d ngl=%d ts=%v ot=%v\n%28s fitbench         n_ctx=%d ngl=%d ts=%v ot=%v (%s)",
				label, got.NCtx, got.NGPULayers, got.TensorSplit, rigOT, "", pred.NCtx, pred.NGPULayers, pred.TensorSplit, ourOT, pred.Note)
			gap, known := knownMoEFitGaps[label]
			switch {
			case ok && known:
				agree++
				t.Logf("%s: listed as a known gap (%s) but now matches: remove it from knownMoEFitGaps", label, gap)
			case ok:
				agree++
			case known:
				t.Logf("%s: KNOWN GAP (%s)", label, gap)
			default:
				t.Errorf("%s: llama_params_fit and fitbench differ (above)", label)
			}
			if !res.OK {
				t.Errorf("%s: llama.cpp's own fit did not load: %s", label, res.Error)
			}
		}
	}
	t.Logf("MoE fit agreement: %d of %d (%d with tensor overrides)", agree, n, withOverrides)
	if withOverrides == 0 {
		t.Errorf("no case made llama_params_fit move experts: the cases are mis-sized")
	}
}
