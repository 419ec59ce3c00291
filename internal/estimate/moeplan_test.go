package estimate

import (
	"strings"
	"testing"
)

// moveExperts follows what the rig measured (docs/ESTIMATES.md, "MoE expert
// offload"), now through the scheduler replay rather than rules of its own:
// the experts of the first n blocks move from their GPU to system RAM byte
// for byte; the CPU's compute buffer stays what it is without pipeline
// parallelism (the graph inputs: the prompt's expert matmuls are offloaded to
// GPU0); GPU0's grows by at most the one expert tensor those matmuls copy in
// at a time; the other GPU loses its pipeline copies and nothing else.
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
		p := moveExperts(in, 3)
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
		single := make([]uint64, len(p.devices)) // the full plan without pipeline parallelism
		for i := range single {
			single[i] = full.devices[i].ComputeBytes
			if len(gpus) > 1 {
				single[i] = full.computeSingle[i]
			}
		}
		if got := p.devices[cpu].ComputeBytes; got != single[cpu] {
			t.Errorf("%d GPUs: CPU compute %d, want the inputs %d", len(gpus), got, single[cpu])
		}
		var expert uint64 // the largest expert tensor of the graph, as a GPU copy
		for _, w := range buildGraph(shapeOf(in)).weights {
			if w.expert {
				expert = max(expert, w.size+w.size/16)
			}
		}
		if got := p.devices[0].ComputeBytes; got <= single[0] || got > single[0]+expert {
			t.Errorf("%d GPUs: GPU0 compute %d, want %d + up to one expert tensor (%d)", len(gpus), got, single[0], expert)
		}
		for i := 1; i < cpu; i++ {
			if got := p.devices[i].ComputeBytes; got != single[i] {
				t.Errorf("GPU%d compute %d, want %d (no pipeline copies)", i, got, single[i])
			}
		}
	}
	// a micro-batch under 32 tokens keeps the expert matmuls on the CPU: no
	// weight copy on the GPU, the CPU computes them
	in := Input{Summary: s, Context: 4096, NUbatch: 16, Target: Target{GPUs: []GPU{{VRAMBytes: 64 << 30}}, RAMBytes: 64 << 30}}
	full := planLlama(in, 9)
	p := moveExperts(in, 3)
	if p.devices[0].ComputeBytes > full.devices[0].ComputeBytes {
		t.Errorf("ubatch 16: GPU0 compute %d, want at most %d", p.devices[0].ComputeBytes, full.devices[0].ComputeBytes)
	}
	if p.devices[1].ComputeBytes <= full.devices[1].ComputeBytes {
		t.Errorf("ubatch 16: CPU compute %d, want more than the inputs %d", p.devices[1].ComputeBytes, full.devices[1].ComputeBytes)
	}
}

// Ollama has no tensor overrides (api/types.go Runner: no -ot, no
// --n-cpu-moe): under it a MoE model that llama-server would run with its
// experts on the CPU gets whole layers, and no expert-offload plan.
func TestNoExpertOffloadUnderOllama(t *testing.T) {
	s := toy(8)
	s.Architecture = "qwen3moe"
	s.ExpertCount, s.ExpertUsedCount = 64, 4
	s.ExpertLayerBytes = make([]uint64, 8)
	for i := range s.LayerBytes {
		s.LayerBytes[i] = 300 << 20
		s.ExpertLayerBytes[i] = 240 << 20
	}
	in := Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{{VRAMBytes: 2 << 30}}, RAMBytes: 64 << 30}}
	if r := Analyze(in); r.MoE == nil || !r.MoE.Recommended {
		t.Fatalf("premise: llama-server's plan has no recommended expert offload (%+v)", r.MoE)
	}
	in.Engine = EngineOllama
	r := Analyze(in)
	if r.MoE != nil {
		t.Errorf("Ollama: an expert-offload plan (%+v), which Ollama cannot run", r.MoE)
	}
	for _, a := range r.Advice {
		if strings.Contains(a, "MoE:") {
			t.Errorf("Ollama: advice %q", a)
		}
	}
}
