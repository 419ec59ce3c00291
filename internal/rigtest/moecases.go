package rigtest

import (
	"github.com/fitbench/fitbench/internal/estimate"
)

// expertBytes is the bytes of every expert tensor of the model (ffn_*_exps).
func expertBytes(in estimate.Input) uint64 {
	var e uint64
	for _, b := range in.Summary.ExpertLayerBytes {
		e += b
	}
	return e
}

// MoEScenarios sizes devices for a MoE model from fitbench's own estimates:
// every expert on one GPU and on two (2:1); a GPU short of half the expert
// bytes, so that the plan keeps the experts of some blocks in system RAM
// (--n-cpu-moe N); and two GPUs (2:1) shrunk until fitbench's plan is
// --n-cpu-moe with N > 0.
func MoEScenarios(base estimate.Input) []Scenario {
	in := base
	in.Target = estimate.Target{GPUs: []estimate.GPU{gpu("big", 64<<30)}, RAMBytes: RAM}
	in.SafetyMargin = Margin
	full := estimate.Analyze(in)
	need := full.Memory.Devices[0].TotalBytes - full.Memory.Devices[0].OverheadBytes
	short := need - expertBytes(in)/2
	oh := uint64(estimate.DefaultGPUOverhead)
	return []Scenario{
		{"1gpu-all-experts", []estimate.GPU{gpu("g0", oh+need*3/2)}},
		{"2gpu-all-experts-2:1", []estimate.GPU{gpu("g0", oh+need*4/3), gpu("g1", oh+need*2/3)}},
		{"1gpu-cpu-moe", []estimate.GPU{gpu("g0", oh+short)}},
		{"2gpu-cpu-moe-2:1", twoGPUsForExperts(in, need)},
	}
}

// twoGPUsForExperts: two GPUs of X and X/2 bytes (beside the runtime
// overhead), X growing in 5% steps of what one GPU needs for everything, from
// 30% of it: the first pair for which fitbench plans --n-cpu-moe N with
// 0 < N < n_layer (else the first with 0 < N).
func twoGPUsForExperts(in estimate.Input, need uint64) []estimate.GPU {
	q := in
	oh := uint64(estimate.DefaultGPUOverhead)
	nL := in.Summary.BlockCount
	var first []estimate.GPU
	for k := uint64(6); k <= 40; k++ {
		x := need * k / 20
		g := []estimate.GPU{gpu("g0", oh+x), gpu("g1", oh+x/2)}
		q.Target = estimate.Target{GPUs: g, RAMBytes: RAM}
		m := estimate.Analyze(q).MoE
		if m == nil || !m.Recommended || m.CPUMoELayers == 0 {
			continue
		}
		if m.CPUMoELayers < nL {
			return g
		}
		if first == nil {
			first = g
		}
	}
	if first == nil {
		first = []estimate.GPU{gpu("g0", oh+need*2/3), gpu("g1", oh+need/3)}
	}
	return first
}
