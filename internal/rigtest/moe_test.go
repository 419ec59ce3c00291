package rigtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
)

// knownMoEGaps are per-device compute figures (and the totals they move)
// outside the global bounds, each with its cause; logged, not failed, and
// reported when they come back within bounds. Weights, KV and layers are
// never listed here. Every compute figure comes from the scheduler replay
// (internal/estimate sched.go), the MoE plans' included (expert tensors
// placed in host memory, moveExperts); what is listed is where the replayed
// graph of an architecture still differs from llama.cpp's.
var knownMoEGaps = map[string]string{
	// gpt-oss with experts in RAM: GPU0 +7.9% (+0.98 MB). The rig's buffer
	// is 1 MB smaller than with every expert on the GPU (12.40 vs 13.39 MB),
	// the replay's about the same (13.38): the copies of the MXFP4 expert
	// tensors (1.11 MB each) and their biases (modelled: ggml_add_id) are
	// placed, but what frees the rig's 1 MB is not yet explained
	"moe-gptoss/1gpu-cpu-moe ctx=2048 np=1 GPU0":     "gpt-oss experts in RAM: GPU0 1 MB over",
	"moe-gptoss/2gpu-cpu-moe-2:1 ctx=2048 np=1 GPU0": "gpt-oss experts in RAM: GPU0 1 MB over",
	// gpt-oss at partial offload (-ngl 2, whole layers): GPU0 −15%, the CPU
	// layers' weights and sliding-window cache views copied in
	"moe-gptoss/1gpu-cpu-moe ctx=2048 np=1 whole-layers GPU0":     "gpt-oss partial offload: copied CPU-layer inputs",
	"moe-gptoss/2gpu-cpu-moe-2:1 ctx=2048 np=1 whole-layers GPU0": "gpt-oss partial offload: copied CPU-layer inputs",
}

// TestMoEOffloadMatchesRig runs fitbench's plan for every MoE model on
// simulated GPUs sized so that every expert fits (one and two GPUs) and so
// that the experts of some blocks must stay in system RAM (one GPU, two
// unequal GPUs), with exactly the llama-server flags fitbench prints
// (--n-cpu-moe N when that plan is chosen), and compares per device: layers,
// weights, KV, compute, output, total; and per block where the expert tensors
// landed (system RAM for the first N blocks, the block's GPU otherwise).
func TestMoEOffloadMatchesRig(t *testing.T) {
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	paths, sums, err := estimatetest.WriteModels(t.TempDir(), estimatetest.MoEModels)
	if err != nil {
		t.Fatal(err)
	}
	moePlans := 0
	for i, p := range paths {
		base := estimate.Input{Summary: sums[i], Engine: estimate.EngineLlamaCpp, Context: 2048, Parallel: 1, SafetyMargin: Margin}
		for _, sc := range MoEScenarios(base) {
			in := base
			in.Target = estimate.Target{GPUs: sc.GPUs, RAMBytes: RAM}
			label := Label(sums[i], estimatetest.MoEModels[i].Name, sc.Name, in)
			c, err := Compare(ctx, bin, p, label, in)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", label, strings.Join(c.Args[2:], " "))
			n := 0
			if m := c.Report.MoE; m != nil {
				t.Logf("%s: moe plan --n-cpu-moe %d fits=%v recommended=%v %.1f tok/s vs whole layers %.1f", label, m.CPUMoELayers, m.Fits, m.Recommended, m.EstimatedThroughput, m.LayerPlanThroughput)
				if m.Recommended {
					n = m.CPUMoELayers
					moePlans++
				}
			}
			if strings.Contains(sc.Name, "cpu-moe") && n == 0 {
				t.Errorf("%s: sized for expert offload, fitbench planned %s", label, strings.Join(c.Args[2:], " "))
			}
			checkKnown(t, c, knownMoEGaps)
			if c.Rig.OK {
				checkExpertPlacement(t, c, in, n)
			}
			if n > 0 {
				checkLayerAlternative(ctx, t, bin, p, label, in, c.Report)
			}
		}
	}
	if moePlans < len(paths)*2 {
		t.Errorf("only %d --n-cpu-moe plans ran (want one per model on one GPU and on two)", moePlans)
	}
}

// checkKnown is checkComparison with the listed compute gaps logged instead
// of failed: the comparison runs on a recorder and its errors are re-raised
// unless every one is a listed compute/total gap of that device.
func checkKnown(t *testing.T, c *Comparison, known map[string]string) {
	t.Helper()
	hit := map[string]bool{}
	defer func() {
		for k := range known {
			// keys are "<label> <device>"
			if dev, ok := strings.CutPrefix(k, c.Label+" "); ok && !strings.Contains(dev, " ") && !hit[k] {
				t.Logf("%s: listed as a known gap (%s) but now within bounds: remove it", k, known[k])
			}
		}
	}()
	rec := &recorder{TB: t}
	checkComparison(rec, c)
	for _, e := range rec.errs {
		gap, ok := "", false
		for k, why := range known {
			if strings.HasPrefix(e, k) && (strings.Contains(e, ": compute ") || strings.Contains(e, ": total ")) {
				gap, ok = why, true
				hit[k] = true
			}
		}
		if ok {
			t.Logf("KNOWN GAP (%s): %s", gap, e)
		} else {
			t.Error(e)
		}
	}
}

// checkExpertPlacement compares, block by block, the bytes llama.cpp put in
// system RAM with fitbench's plan: a block on a GPU keeps everything there
// except, for the first n blocks, its expert tensors; a block on the CPU is
// all in RAM. Host buffers are exact; a GPU may hold a little more (CUDA's
// quantized-row padding, which fitbench does not model: ≤ 1% + 16 KiB).
func checkExpertPlacement(t *testing.T, c *Comparison, in estimate.Input, n int) {
	t.Helper()
	s := in.Summary
	host := map[string]bool{}
	for _, b := range c.Rig.Buffers {
		host[b.Buft] = b.Host || b.Device == "CPU"
	}
	ram := make([]uint64, s.BlockCount)
	dev := make([]uint64, s.BlockCount)
	for buft, tb := range c.Rig.Tensors {
		isHost, known := host[buft]
		for k, b := range tb.Layers {
			il, err := strconv.Atoi(k)
			if err != nil || il < 0 || il >= s.BlockCount {
				continue
			}
			if isHost || !known {
				ram[il] += b
			} else {
				dev[il] += b
			}
		}
	}
	ngl := c.Report.GPULayers
	for il := 0; il < s.BlockCount; il++ {
		wantRAM := uint64(0)
		onGPU := il >= s.BlockCount-min(ngl, s.BlockCount)
		switch {
		case !onGPU:
			wantRAM = s.LayerBytes[il]
		case il < n:
			wantRAM = s.ExpertLayerBytes[il]
		}
		wantDev := s.LayerBytes[il] - wantRAM
		l := fmt.Sprintf("%s blk.%d", c.Label, il)
		if ram[il] != wantRAM {
			t.Errorf("%s: %d bytes in system RAM, fitbench planned %d (experts %d)", l, ram[il], wantRAM, s.ExpertLayerBytes[il])
		}
		if dev[il] < wantDev || dev[il] > wantDev+wantDev/100+16<<10 {
			t.Errorf("%s: %d bytes on its GPU, fitbench planned %d", l, dev[il], wantDev)
		}
	}
}

// recorder collects a check's errors so the caller can sort known gaps from
// failures; everything else goes to the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// checkLayerAlternative runs the plan the --n-cpu-moe plan won against —
// whole layers, -ngl LayerPlanGPULayers — in the rig with its own flags and
// checks it like any plan (it must load where fitbench says it fits; layers,
// weights, KV exact). The choice between the two is fitbench's speed model
// (decode reads the GPU's bytes at its bandwidth and the CPU's at system RAM's;
// a MoE block reads its used experts only), which a simulated GPU cannot time;
// what the rig does check is that each plan's bytes are where that model
// assumed them: the MoE plan's by checkExpertPlacement, the alternative's here.
func checkLayerAlternative(ctx context.Context, t *testing.T, bin, model, label string, in estimate.Input, moe estimate.Report) {
	t.Helper()
	m := moe.MoE
	q := in
	ngl := m.LayerPlanGPULayers
	q.GPULayers = &ngl
	c, err := Compare(ctx, bin, model, label+" whole-layers", q)
	if err != nil {
		t.Fatal(err)
	}
	if c.Report.MoE != nil && c.Report.MoE.Recommended {
		t.Errorf("%s: a pinned -ngl %d was replaced by the MoE plan", label, ngl)
	}
	t.Logf("%s: chosen --n-cpu-moe %d (%.1f tok/s) over %s (%.1f tok/s)", label, m.CPUMoELayers, m.EstimatedThroughput,
		strings.Join(c.Args[2:], " "), c.Report.Performance.EstimatedThroughput)
	if c.Report.Performance.EstimatedThroughput != m.LayerPlanThroughput {
		t.Errorf("%s: the whole-layer plan's speed is %.1f tok/s on its own, %.1f in the MoE comparison", label, c.Report.Performance.EstimatedThroughput, m.LayerPlanThroughput)
	}
	if m.EstimatedThroughput <= c.Report.Performance.EstimatedThroughput {
		t.Errorf("%s: the MoE plan is recommended but not faster", label)
	}
	checkKnown(t, c, knownMoEGaps)
	if c.Rig.OK {
		checkExpertPlacement(t, c, q, 0)
	}
}
