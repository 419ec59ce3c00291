package estimate

import (
	"fmt"
	"testing"

	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// schedInput is toy(nL) at n_ctx 4096, one sequence, flash attention, with
// gpus GPUs of plenty of memory.
func schedInput(nL, gpus int) Input {
	in := Input{Summary: toy(nL), Engine: EngineLlamaCpp, Context: 4096, Parallel: 1, Target: Target{RAMBytes: 256 << 30}}
	for i := 0; i < gpus; i++ {
		in.Target.GPUs = append(in.Target.GPUs, GPU{VRAMBytes: 80 << 30})
	}
	return in
}

// The graph inputs ggml's scheduler keeps in host memory when every layer is
// on a GPU, from llama.cpp's reserve graph with flash attention: token ids
// (4 B), positions (4 B), K and V cache row indices (8 B each) and output ids
// (4 B) per token, the F32 KQ mask (n_kv × n_ubatch), and the embeddings
// lookup (get_rows on token_embd, which CUDA never offloads) [n_embd, n_ubatch].
func hostInputs(s graphShape) (inputs, embd uint64) {
	T := uint64(s.nTok)
	return T*(4+4+8+8+4) + 4*uint64(s.nKV)*T, 4 * uint64(s.nEmbd) * T
}

func TestScheduleCPUOnlyIsTheSingleBufferReplay(t *testing.T) {
	for _, nL := range []int{1, 4, 9} {
		in := schedInput(nL, 0)
		p := planLlama(in, 0)
		sh := shapeOf(in)
		want := computeGraphBytes(sh)
		g := buildGraph(sh)
		got := g.schedule(schedConf{nGPU: 0, copies: 1, nLayer: nL, dev: func(int) int { return 0 }})
		if got[0] != want || p.devices[len(p.devices)-1].ComputeBytes != want {
			t.Errorf("%d layers: scheduled %d, plan %d, single-buffer replay %d", nL, got[0], p.devices[len(p.devices)-1].ComputeBytes, want)
		}
	}
}

func TestScheduleFullOffloadHostHoldsTheInputs(t *testing.T) {
	in := schedInput(4, 1)
	p := planLlama(in, 5)
	inputs, embd := hostInputs(shapeOf(in))
	if got := p.devices[1].ComputeBytes; got != inputs+embd {
		t.Errorf("host compute %d, want the graph inputs %d + embeddings %d", got, inputs, embd)
	}
	if p.devices[0].ComputeBytes <= embd {
		t.Errorf("GPU compute %d: the graph runs there", p.devices[0].ComputeBytes)
	}
}

// Under pipeline parallelism the scheduler keeps GGML_SCHED_MAX_COPIES copies
// of every graph input (never freed) in host memory; the embeddings output is
// a node, allocated once.
func TestSchedulePipelineCopiesTheInputs(t *testing.T) {
	in := schedInput(6, 2)
	p := planLlama(in, 7)
	inputs, embd := hostInputs(shapeOf(in))
	if got := p.devices[2].ComputeBytes; got != pipelineCopies*inputs+embd {
		t.Errorf("host compute %d, want %d × inputs %d + embeddings %d", got, pipelineCopies, inputs, embd)
	}
	// a MoE model also gets the buffers without pipeline parallelism (its -ot
	// plans), which the 4 copies only add to
	moe := in
	moe.Summary.ExpertCount, moe.Summary.ExpertUsedCount = 8, 2
	moe.Summary.Arch.ExpertFFLength = 1024
	pm := planLlama(moe, 7)
	if len(pm.computeSingle) != 3 {
		t.Fatalf("computeSingle %v", pm.computeSingle)
	}
	for i := 0; i < 2; i++ {
		if pm.devices[i].ComputeBytes <= pm.computeSingle[i] {
			t.Errorf("GPU%d: %d with pipeline copies, %d without", i, pm.devices[i].ComputeBytes, pm.computeSingle[i])
		}
	}
	// without pipeline parallelism (the output layer on the CPU) there is
	// one copy of everything and no computeSingle
	if q := planLlama(in, 6); q.computeSingle != nil || q.devices[2].ComputeBytes >= p.devices[2].ComputeBytes {
		t.Errorf("-ngl 6: host %d, single %v", q.devices[2].ComputeBytes, q.computeSingle)
	}
}

// -ngl 0 with a GPU: every op on a host weight with a full batch is offloaded
// to the GPU, which copies each weight in (one at a time: each starts a split)
// and holds the CPU layers' attention over their copied K/V cache; the
// largest copy is the output matrix.
func TestSchedulePartialOffloadCopiesWeightsToTheGPU(t *testing.T) {
	in := schedInput(4, 1)
	p := planLlama(in, 0)
	out := in.Summary.OutputBytes - uint64(4*in.Summary.EmbeddingLength)
	gpu := p.devices[0].ComputeBytes
	if gpu <= out {
		t.Fatalf("GPU compute at -ngl 0 is %d, below the output matrix copy %d", gpu, out)
	}
	full := planLlama(in, 5).devices[0].ComputeBytes
	if gpu <= full {
		t.Errorf("-ngl 0 GPU compute %d should exceed full offload's %d (copied weights and KV)", gpu, full)
	}
	// the CPU then holds the inputs, the embeddings and the K/V rows it
	// writes into its own cache, not the layers' activations
	inputs, embd := hostInputs(shapeOf(in))
	if cpu := p.devices[1].ComputeBytes; cpu < inputs+embd || cpu >= computeGraphBytes(shapeOf(in)) {
		t.Errorf("host compute %d: want at least %d and less than the CPU-only graph", cpu, inputs+embd)
	}
}

func shapeOf(in Input) graphShape {
	s := in.Summary
	prof := profileFor(s)
	ctx := defaultContext(s, in.Context)
	lay := layout(ctx, in.Parallel, 512)
	cl := cacheBytes(in, prof, PathLlamaServer, lay, ctx, "f16", true)
	return graphShapeFor(in, prof, PathLlamaServer, lay, cl, true)
}

// --n-cpu-moe: expert tensors in host memory are still used by ops with a
// full batch, which the scheduler offloads to the first GPU by copying each
// expert tensor in (ggml-backend.cpp: "when offloading MoE weights"), so the
// GPU's compute buffer holds a whole expert tensor beside the activations.
func TestScheduleExpertsOnTheCPUAreCopiedToTheGPU(t *testing.T) {
	in := schedInput(4, 1)
	in.Summary.ExpertCount, in.Summary.ExpertUsedCount = 8, 2
	in.Summary.Arch.ExpertFFLength = 1024
	in.Summary.VocabSize = 1000 // keep the logits from being the peak
	sh := shapeOf(in)
	base := schedConf{nGPU: 1, copies: 1, fullOffload: true, nLayer: 4, dev: func(int) int { return 0 }}
	gpuOnly := buildGraph(sh).schedule(base)
	cpuExperts := base
	cpuExperts.expertDev = func(int) int { return 1 }
	moved := buildGraph(sh).schedule(cpuExperts)
	var expert uint64
	g := buildGraph(sh)
	for _, w := range g.weights {
		if w.expert {
			expert = max(expert, w.size)
		}
	}
	if expert == 0 {
		t.Fatal("no expert weights in the graph")
	}
	if moved[0] <= gpuOnly[0] || moved[0] < expert {
		t.Errorf("GPU compute %d with CPU experts, %d without: want it to hold an expert tensor (%d) more", moved[0], gpuOnly[0], expert)
	}
}

// Every architecture preset (dense, sliding window, MoE, MLA, recurrent
// hybrids, real-sized headers) plans through the scheduler replay on one and
// two GPUs at full and partial offload: a GPU holding blocks has a compute
// buffer, the host has its inputs, and no figure is absurd.
func TestScheduleEveryPreset(t *testing.T) {
	for _, np := range synth.Presets {
		sum, err := estimatetest.PresetHeader(t.TempDir(), np.Name)
		if err != nil {
			t.Fatal(err)
		}
		nL := sum.BlockCount
		for _, gpus := range []int{1, 2} {
			for _, ngl := range []int{0, nL / 2, nL + 1} {
				for _, engine := range []string{EngineLlamaCpp, EngineOllama} {
					in := Input{Summary: sum, Engine: engine, Context: 4096, Parallel: 2, Target: Target{RAMBytes: 1 << 40}}
					for i := 0; i < gpus; i++ {
						in.Target.GPUs = append(in.Target.GPUs, GPU{VRAMBytes: 1 << 40})
					}
					p := planLlama(in, ngl)
					label := fmt.Sprintf("%s %s %d GPU -ngl %d", np.Name, engine, gpus, ngl)
					host := p.devices[len(p.devices)-1]
					if host.ComputeBytes == 0 {
						t.Errorf("%s: no host compute", label)
					}
					for _, d := range p.devices {
						if d.Layers > 0 && d.ComputeBytes == 0 {
							t.Errorf("%s: %s holds %d layers and no compute", label, d.Name, d.Layers)
						}
						if d.ComputeBytes > 1<<40 {
							t.Errorf("%s: %s compute %d", label, d.Name, d.ComputeBytes)
						}
					}
				}
			}
		}
	}
}
