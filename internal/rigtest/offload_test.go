package rigtest

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
)

// Bounds of the per-device comparison, as relative error (ours − rig) / rig.
// Weights, KV and the output buffer are sums of tensor sizes and must be
// (nearly) exact. The compute buffers come from a replay of ggml's backend
// scheduler and allocator (internal/estimate sched.go, galloc.go) and are
// exact on the rig in every configuration (one GPU, two, partial offload,
// pipeline parallelism); the 1% covers CUDA's quantized-row padding in the
// totals (≤ 0.2% of weights, not modelled). One bound for every case.
var (
	boundExact   = [2]float64{-0.01, 0.01}
	boundCompute = [2]float64{-0.01, 0.01}
	boundTotal   = [2]float64{-0.01, 0.01}
)

// below this many bytes a difference is noise (CUDA row padding, alignment)
const slack = 64 << 10

// TestOffloadMatchesRig runs fitbench's plan for every model of the estimate
// matrix on simulated devices (one GPU, two unequal GPUs; full, partial, too
// small; CPU only) with exactly the llama-server flags fitbench prints, and
// compares per device: layers, weights, KV, compute, output and total; and that
// a plan fitbench says runs loads and decodes without a failed GPU allocation.
func TestOffloadMatchesRig(t *testing.T) {
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	paths, sums, err := estimatetest.WriteModels(t.TempDir(), estimatetest.Models)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	off := false
	// settings: one sequence; two (one KV stream each); a q8_0 cache (CUDA pads
	// its rows, and the copies of its views); flash attention off (transposed V)
	settings := []struct {
		ctx, par int
		cache    string
		fa       *bool
	}{{2048, 1, "", nil}, {1024, 2, "", nil}, {1024, 2, "q8_0", nil}, {2048, 1, "", &off}}
	for i, p := range paths {
		for _, set := range settings {
			base := estimate.Input{Summary: sums[i], Engine: estimate.EngineLlamaCpp, Context: set.ctx, Parallel: set.par,
				CacheType: set.cache, FlashAttention: set.fa, SafetyMargin: Margin}
			for _, sc := range Scenarios(base) {
				in := base
				in.Target = estimate.Target{GPUs: sc.GPUs, RAMBytes: RAM}
				label := Label(sums[i], estimatetest.Models[i].Name, sc.Name, in)
				c, err := Compare(ctx, bin, p, label, in)
				if err != nil {
					t.Fatal(err)
				}
				checkComparison(t, c)
				n++
			}
		}
	}
	if n < len(paths)*7*len(settings) {
		t.Fatalf("only %d rig comparisons ran", n)
	}
}

func checkComparison(t testing.TB, c *Comparison) {
	t.Helper()
	r := c.Report
	cmd := strings.Join(c.Args, " ")
	if r.Verdict == estimate.VerdictNoFit {
		// every scenario has RAM for the whole model: some plan must run
		t.Errorf("%s: fitbench says it does not fit with %d GiB of RAM", c.Label, RAM>>30)
	}
	if r.Verdict != estimate.VerdictNoFit {
		// fitbench said it runs: the rig must load, allocate and decode
		if !c.Rig.OK {
			t.Errorf("%s: fitbench says %s, the rig failed: %s\n  %s", c.Label, r.Verdict, c.Rig.Error, cmd)
			return
		}
		for _, d := range c.Engine {
			if d.FailedAllocs > 0 {
				t.Errorf("%s: fitbench says %s, %s refused %d allocation(s)", c.Label, r.Verdict, d.Name, d.FailedAllocs)
			}
		}
	}
	if !c.Rig.OK {
		return
	}
	for i := range c.Ours {
		o, e := c.Ours[i], c.Engine[i]
		l := c.Label + " " + o.Name
		if o.Layers != e.Layers {
			t.Errorf("%s: layers ours %d rig %d (%s)", l, o.Layers, e.Layers, cmd)
		}
		cmp(t, l, "weights", o.WeightsBytes, e.WeightsBytes, boundExact)
		cmp(t, l, "kv", o.KVBytes, e.KVBytes, boundExact)
		cmp(t, l, "compute", o.ComputeBytes, e.ComputeBytes, boundCompute)
		cmp(t, l, "output", o.OutputBytes, e.OutputBytes, boundExact)
		cmp(t, l, "total", o.TotalBytes-o.OverheadBytes, e.TotalBytes, boundTotal)
	}
}

func cmp(t testing.TB, label, what string, ours, rig uint64, bound [2]float64) {
	t.Helper()
	cmpWith(t, "rig", label, what, ours, rig, bound)
}

// cmpWith logs one figure beside the engine's (named other) and fails it
// outside bound, unless the difference is below slack.
func cmpWith(t reporter, other, label, what string, ours, rig uint64, bound [2]float64) {
	t.Helper()
	d := float64(ours) - float64(rig)
	rel := 0.0
	if rig > 0 {
		rel = d / float64(rig)
	}
	t.Logf("%-48s %-9s ours %10d %-6s %10d %+7.2f%%", label, what, ours, other, rig, 100*rel)
	if math.Abs(d) > slack && (rig == 0 || rel < bound[0] || rel > bound[1]) {
		t.Errorf("%s: %s ours %d vs %s %d (%+.2f%%, bounds %+.0f%%…%+.0f%%)", label, what, ours, other, rig, 100*rel, 100*bound[0], 100*bound[1])
	}
}
