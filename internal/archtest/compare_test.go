package archtest

import (
	"strings"
	"testing"
)

// The comparison logic on a real model header (no engine needed): a truth
// equal to the estimate passes, one outside a limit fails, a known mismatch
// covers it and is named, and a known mismatch that matches is reported stale.
func TestCompareLimitsKnownAndStale(t *testing.T) {
	m, err := WriteModel(t.TempDir(), "qwen3-tied")
	if err != nil {
		t.Fatal(err)
	}
	c := Case{Preset: "qwen3-tied", Context: 2048, Parallel: 1}
	_, e := EstimateFor(m, c)
	if e.Weights == 0 || e.KV == 0 || e.Total != e.Weights+e.KV+e.Compute+e.Output {
		t.Fatalf("estimate %+v", e)
	}
	truth := Truth{Path: Path(e.Path), Weights: e.Weights, KV: e.KV, Compute: e.Compute, Total: e.Total}
	if e.Path == "" {
		truth.Path = PathOllama
	}
	res := Result{Case: c, Model: m, Truth: truth}
	cmp := Compare(res)
	if e.Path != "" && len(cmp.Failures()) != 0 {
		t.Fatalf("equal figures fail: %v", cmp.Failures())
	}
	// The engine printing 5% more KV than estimated is outside KVTolerance.
	res.Truth.KV = e.KV * 105 / 100
	res.Truth.Total = e.Total + (res.Truth.KV - e.KV)
	cmp = Compare(res)
	var kv *Check
	for i := range cmp.Checks {
		if cmp.Checks[i].Quantity == QKV {
			kv = &cmp.Checks[i]
		}
	}
	if kv == nil || kv.OK || kv.ErrPct > -4.7 || kv.ErrPct < -4.8 {
		t.Fatalf("kv check %+v", kv)
	}
	if !strings.Contains(cmp.String(), "FAIL") {
		t.Fatalf("report without FAIL:\n%s", cmp)
	}
	saved := KnownMismatches
	defer func() { KnownMismatches = saved }()
	KnownMismatches = []KnownMismatch{{Case: "qwen3-tied/*/par1", Quantity: QKV, Reason: "test reason"},
		{Case: "qwen3-tied/ctx2048/*", Quantity: QWeights, Reason: "stale"}}
	if !HasKnown(c) || HasKnown(Case{Preset: "qwen3", Context: 2048, Parallel: 1}) {
		t.Fatal("pattern matching")
	}
	cmp = Compare(res)
	for _, f := range cmp.Failures() {
		if f.Quantity == QKV {
			t.Fatalf("known mismatch still a failure: %+v", f)
		}
	}
	if s := cmp.Stale(); len(s) != 1 || s[0].Quantity != QWeights {
		t.Fatalf("stale %+v", s)
	}
	if out := cmp.String(); !strings.Contains(out, "KNOWN MISMATCH: test reason") || !strings.Contains(out, "remove the known-mismatch entry") {
		t.Fatalf("report:\n%s", out)
	}
}

func TestCompactLayersAndTable(t *testing.T) {
	if got := compactLayers([]uint64{5, 5, 5, 7, 0}); got != "5×3 7 0" {
		t.Fatalf("%q", got)
	}
	tab := TruthTable([]Result{{Case: Case{"x", 2048, 1}, Truth: Truth{Path: PathLlamaCpp, Weights: 1, Total: 1}}})
	if !strings.Contains(tab, "| x/ctx2048/par1 |") || strings.Count(tab, "\n") != 3 {
		t.Fatalf("%s", tab)
	}
}
