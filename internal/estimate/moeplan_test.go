package estimate

import "testing"

// moveExperts follows what the rig measured (docs/ESTIMATES.md, "MoE expert
// offload"): the experts of the first n blocks move from their GPU to system
// RAM byte for byte; the CPU's compute buffer stays the graph inputs; GPU0's
// grows by one expert tensor (a third of a block's experts) that the
// offloaded prompt matmuls copy in; on two GPUs the pipeline copies are undone.
func TestMoveExpertsRigRules(t *testing.T) {
	s := toy(8)
	s.ExpertCount, s.ExpertUsedCount = 64, 4
	s.ExpertLayerBytes = make([]uint64, 8)
	for i := range s.LayerBytes {
		s.LayerBytes[i] = 300 << 20
		s.ExpertLayerBytes[i] = 240 << 20
	}
	for _, gpus := range [][]GPU{{{VRAMBytes: 64 << 30}}, {{VRAMBytes: 32 << 30}, {VRAMBytes: 32 << 30}}} {
		in := Input{Summary: s, Context: 4096, Target: Target{GPUs: gpus, RAMBytes: 64 << 30}}
		full := planLlama(in, 9)
		p := moveExperts(in, full, 3)
		cpu := len(gpus)
		if got, want := p.devices[cpu].WeightsBytes-full.devices[cpu].WeightsBytes, uint64(3*240<<20); got != want {
			t.Errorf("%d GPUs: %d bytes moved to RAM, want %d", len(gpus), got, want)
		}
		var gpuW, fullW uint64
		for i := 0; i < cpu; i++ {
			gpuW += p.devices[i].WeightsBytes
			fullW += full.devices[i].WeightsBytes
		}
		if fullW-gpuW != 3*240<<20 {
			t.Errorf("%d GPUs: the GPUs lost %d bytes", len(gpus), fullW-gpuW)
		}
		copies := uint64(1)
		if len(gpus) > 1 {
			copies = pipelineCopies
		}
		if got, want := p.devices[cpu].ComputeBytes, full.devices[cpu].ComputeBytes/copies; got != want {
			t.Errorf("%d GPUs: CPU compute %d, want the inputs %d", len(gpus), got, want)
		}
		if got, want := p.devices[0].ComputeBytes, full.devices[0].ComputeBytes/copies+80<<20; got != want {
			t.Errorf("%d GPUs: GPU0 compute %d, want %d (+ one expert tensor)", len(gpus), got, want)
		}
	}
	// a micro-batch under 32 tokens keeps the expert matmuls on the CPU: no copy
	in := Input{Summary: s, Context: 4096, NUbatch: 16, Target: Target{GPUs: []GPU{{VRAMBytes: 64 << 30}}, RAMBytes: 64 << 30}}
	full := planLlama(in, 9)
	if p := moveExperts(in, full, 3); p.devices[0].ComputeBytes != full.devices[0].ComputeBytes {
		t.Errorf("ubatch 16: GPU0 compute %d, want %d", p.devices[0].ComputeBytes, full.devices[0].ComputeBytes)
	}
}
