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
