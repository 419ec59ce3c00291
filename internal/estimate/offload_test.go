package estimate

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The llama-server command pins the plan: -ngl, the total context, and on two
// GPUs -ts as the planned layers per device (so llama.cpp's split reproduces it).
func TestLlamaServerArgsPinThePlan(t *testing.T) {
	in := Input{Summary: toy(32), Context: 4096, Parallel: 2, CacheType: "q8_0",
		Target: Target{GPUs: []GPU{{VRAMBytes: 3 << 30}, {VRAMBytes: 2 << 30}}, RAMBytes: 64 << 30}}
	r := Analyze(in)
	if r.GPULayers == 0 || r.GPULayers > 33 {
		t.Fatalf("plan %d layers", r.GPULayers)
	}
	a := LlamaServerArgs(r, in, "/m.gguf")
	line := strings.Join(a, " ")
	want := []string{"-m /m.gguf", "-ngl " + itoa(r.GPULayers), "-c " + itoa(r.Context*2), "-np 2", "-fa on", "-ctk q8_0 -ctv q8_0",
		"-ts " + itoa(r.Memory.Devices[0].Layers) + "," + itoa(r.Memory.Devices[1].Layers)}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("%q lacks %q", line, w)
		}
	}
	if r.Command == nil || !strings.HasPrefix(r.Command.LlamaServerLine, "llama-server -m MODEL.gguf") {
		t.Fatalf("report command %+v", r.Command)
	}
	if r.Command.OllamaOptions["num_gpu"] != r.GPULayers || !slices.Contains(r.Command.OllamaEnv, "OLLAMA_KV_CACHE_TYPE=q8_0") {
		t.Errorf("ollama settings %+v", r.Command)
	}
	if got := shellJoin([]string{"-ot", `blk\.0\.x=CPU`, "a b"}); got != `-ot 'blk\.0\.x=CPU' 'a b'` {
		t.Errorf("shellJoin %s", got)
	}
}

// PredictLlamaFit: a roomy GPU changes nothing; a small one cuts the context
// (the training context is larger than the minimum) and then the layers; a
// user -ngl stops the fit after the context step.
func TestPredictLlamaFitSteps(t *testing.T) {
	s := toy(32) // 100 MiB layers, trained context 32768
	in := Input{Summary: s, Parallel: 1, Target: Target{GPUs: []GPU{{VRAMBytes: 64 << 30}}, RAMBytes: 64 << 30}}
	if f := PredictLlamaFit(LlamaFitInput{In: in}); f.Changed || f.NGPULayers != 999 || f.NCtx != 32768 {
		t.Fatalf("roomy: %+v", f)
	}
	in.Target.GPUs[0].VRAMBytes = 4 << 30
	f := PredictLlamaFit(LlamaFitInput{In: in})
	if !f.Changed || f.NCtx != LlamaFitMinCtx || f.NGPULayers <= 0 || f.NGPULayers >= 32 {
		t.Fatalf("small: %+v", f)
	}
	ngl := 30 // does not fit at the training context
	if g := PredictLlamaFit(LlamaFitInput{In: in, UserNGL: &ngl}); g.Aborted == "" || g.NGPULayers != 30 || g.NCtx != LlamaFitMinCtx {
		t.Fatalf("user ngl: %+v", g)
	}
	in.Target.GPUs = []GPU{{VRAMBytes: 3 << 30}, {VRAMBytes: 2 << 30}}
	two := PredictLlamaFit(LlamaFitInput{In: in, UserCtx: 8192})
	if two.NCtx != 8192 || len(two.TensorSplit) != 2 || two.TensorSplit[0]+two.TensorSplit[1] != two.NGPULayers || two.TensorSplit[0] <= two.TensorSplit[1] {
		t.Fatalf("two GPUs: %+v", two)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A MoE model too large for the GPU: the expert-offload plan keeps attention
// and the output on the GPU, moves the experts of the first N blocks to system
// RAM, fits, reads only the used experts' share per token from RAM — and beats
// whole layers on the CPU, so it becomes the plan and the command says
// --n-cpu-moe N.
func TestMoEPlanBeatsLayerOffload(t *testing.T) {
	s := toy(24)
	s.ExpertCount, s.ExpertUsedCount = 64, 4
	s.ExpertLayerBytes = make([]uint64, 24)
	for i := range s.LayerBytes {
		s.LayerBytes[i] = 400 << 20
		s.ExpertLayerBytes[i] = 360 << 20 // 90% of a block is experts
	}
	s.TensorBytes = 24*400<<20 + 170<<20
	in := Input{Summary: s, Context: 4096, Target: Target{GPUs: []GPU{{VRAMBytes: 6 << 30, BandwidthGBs: 500}}, RAMBytes: 64 << 30, CPUBandwidth: 50}}
	r := Analyze(in)
	m := r.MoE
	if m == nil {
		t.Fatal("no MoE plan for a MoE model that does not fit")
	}
	if !m.Fits || m.CPUMoELayers <= 0 || m.CPUMoELayers > 24 {
		t.Fatalf("plan %+v", m)
	}
	if m.CPUActiveBytes*16 != m.CPUExpertBytes {
		t.Errorf("a token reads 4 of 64 experts: active %d of %d", m.CPUActiveBytes, m.CPUExpertBytes)
	}
	if !m.Recommended || m.EstimatedThroughput <= m.LayerPlanThroughput {
		t.Fatalf("expert offload should beat whole layers here: %+v", m)
	}
	if r.GPULayers != 25 || !strings.Contains(r.Command.LlamaServerLine, "--n-cpu-moe "+strconv.Itoa(m.CPUMoELayers)) {
		t.Errorf("the report should adopt the plan: ngl %d, %s", r.GPULayers, r.Command.LlamaServerLine)
	}
	gpu := r.Memory.Devices[0]
	if gpu.TotalBytes+(1<<20) > 6<<30 {
		t.Errorf("GPU total %d over its memory", gpu.TotalBytes)
	}
	// a dense model gets no MoE plan
	if d := Analyze(Input{Summary: toy(24), Target: in.Target}); d.MoE != nil {
		t.Errorf("dense model got a MoE plan")
	}
}
