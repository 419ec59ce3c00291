package estimate

import (
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Each expected figure below is derived by hand from the engine source rule the
// test names (cited in profile.go / state.go), not read back from our code.

func withArch(s gguf.Summary, arch string) gguf.Summary {
	s.Architecture = arch
	return s
}

func TestEnginePathFollowsOllama(t *testing.T) {
	s := toy(4)
	cases := []struct {
		name, engine, arch, pre, tok string
		projector                    bool
		want                         string
		reason                       bool
	}{
		{"llama on ollama", EngineOllama, "llama", "", "", false, PathOllamaLlamaCpp, false},
		{"qwen3 on ollama", EngineOllama, "qwen3", "qwen2", "gpt2", false, PathOllamaEngine, false},
		{"gemma3 on ollama", EngineOllama, "gemma3", "default", "llama", false, PathOllamaEngine, false},
		{"deepseek-v3 tokenizer", EngineOllama, "deepseek2", "deepseek-v3", "gpt2", false, PathOllamaEngine, false},
		{"deepseek-llm tokenizer falls back", EngineOllama, "deepseek2", "deepseek-llm", "gpt2", false, PathOllamaLlamaCpp, true},
		{"lfm2 sentencepiece falls back", EngineOllama, "lfm2", "", "llama", false, PathOllamaLlamaCpp, true},
		{"lfm2 bpe", EngineOllama, "lfm2", "lfm2", "gpt2", false, PathOllamaEngine, false},
		{"granite hybrid stays on llama.cpp", EngineOllama, "granitehybrid", "", "gpt2", false, PathOllamaLlamaCpp, false},
		{"vision projector falls back", EngineOllama, "gemma3", "", "llama", true, PathOllamaLlamaCpp, true},
		{"llama-server", EngineLlamaCpp, "qwen3", "", "gpt2", false, PathLlamaServer, false},
	}
	for _, c := range cases {
		m := withArch(s, c.arch)
		m.Arch.TokenizerPre, m.Arch.TokenizerModel = c.pre, c.tok
		in := Input{Summary: m, Engine: c.engine, Target: Target{RAMBytes: 1 << 36}}
		if c.projector {
			in.ProjectorBytes = 1 << 20
		}
		r := Analyze(in)
		if r.EnginePath != c.want {
			t.Errorf("%s: path %q, want %q", c.name, r.EnginePath, c.want)
		}
		if (r.EnginePathReason != "") != c.reason {
			t.Errorf("%s: reason %q", c.name, r.EnginePathReason)
		}
	}
}

func TestUnknownArchitectureIsApproximate(t *testing.T) {
	s := withArch(toy(4), "brandnew")
	r := Analyze(Input{Summary: s, Engine: EngineOllama, Target: Target{RAMBytes: 1 << 36}})
	if !r.Approximate || !strings.Contains(strings.Join(r.Notes, "\n"), "approximate") {
		t.Fatalf("unknown architecture not flagged: %+v %v", r.Approximate, r.Notes)
	}
	s.Arch.SSMStateSize, s.Arch.SSMInnerSize, s.Arch.SSMConvKernel = 16, 256, 4
	if p := profileFor(s); p.state != stateMamba || !p.approx {
		t.Fatalf("unknown SSM architecture got profile %+v", p)
	}
	if p := profileFor(withArch(toy(4), "mistral")); p.approx {
		t.Fatal("a llama-shaped architecture is not approximate")
	}
}

func cpuDev(r Report) Device { return r.Memory.Devices[len(r.Memory.Devices)-1] }

// gemma3 on Ollama's engine: SWA layers hold parallel×window + batch cells
// (kvcache/causal.go Init), padded to 256; every 6th layer is causal.
func TestOllamaGemma3SlidingCache(t *testing.T) {
	s := withArch(toy(6), "gemma3")
	s.SlidingWindow = 1024
	s.SlidingLayers = []bool{true, true, true, true, true, false}
	row := uint64(2 * 8 * 128 * 2) // K+V, 8 heads × 128, f16
	for _, c := range []struct {
		ctx, par  int
		swa, full uint64
	}{
		{8192, 1, 1536, 8192},     // pad(1×1024 + 512, 256)
		{8192, 2, 2816, 16384},    // pad(2×1025 + 512, 256): window+1 with >1 sequence
		{1024, 1, 1024, 1024},     // memory ≥ capacity: the full cache
		{2048, 1, 1536 + 0, 2048}, // pad(1024+512) = 1536 < 2048
	} {
		r := Analyze(Input{Summary: s, Engine: EngineOllama, Context: c.ctx, Parallel: c.par, Target: Target{RAMBytes: 1 << 36}})
		want := row * (5*c.swa + c.full)
		if got := cpuDev(r).KVBytes; got != want {
			t.Errorf("ctx %d par %d: kv %d, want %d", c.ctx, c.par, got, want)
		}
		if r.EnginePath != PathOllamaEngine {
			t.Errorf("path %s", r.EnginePath)
		}
	}
}

// gpt-oss on Ollama's engine keeps 4096 tokens on sliding layers
// (NewSWAMemCache(window, 4096)); below that the full context.
func TestOllamaGptossSWAMemory(t *testing.T) {
	s := withArch(toy(2), "gptoss")
	s.SlidingWindow = 128
	s.SlidingLayers = []bool{true, false}
	row := uint64(2 * 8 * 128 * 2)
	for _, c := range []struct {
		ctx      int
		swaCells uint64
	}{{8192, 4608}, {2048, 2048}} {
		r := Analyze(Input{Summary: s, Engine: EngineOllama, Context: c.ctx, Target: Target{RAMBytes: 1 << 36}})
		if got, want := cpuDev(r).KVBytes, row*(c.swaCells+uint64(c.ctx)); got != want {
			t.Errorf("ctx %d: kv %d, want %d", c.ctx, got, want)
		}
	}
}

// A gpt-oss file under Ollama's name ("gptoss") does not load in llama.cpp,
// which knows only "gpt-oss" (the rig: "unknown model architecture:
// 'gptoss'"); Ollama's engine loads it.
func TestGptossNameUnderLlamaCpp(t *testing.T) {
	says := func(r Report) bool {
		for _, n := range r.Notes {
			if strings.Contains(n, "llama-server refuses it") {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		arch, engine string
		want         bool
	}{{"gptoss", EngineLlamaCpp, true}, {"gpt-oss", EngineLlamaCpp, false}, {"gptoss", EngineOllama, false}} {
		r := Analyze(Input{Summary: withArch(toy(2), c.arch), Engine: c.engine, Target: Target{RAMBytes: 1 << 36}})
		if says(r) != c.want {
			t.Errorf("%s under %s: note %v, want %v (%v)", c.arch, c.engine, says(r), c.want, r.Notes)
		}
	}
}

func mamba2Hybrid(arch string) gguf.Summary {
	s := withArch(toy(4), arch)
	s.HeadCountKV = []int{0, 8, 0, 0}
	s.Arch = gguf.ArchParams{SSMConvKernel: 4, SSMStateSize: 128, SSMInnerSize: 8192, SSMGroupCount: 1, SSMTimeStepRank: 128}
	return s
}

// Mamba-2 state: conv (d_conv−1)×(d_inner + 2·n_group·d_state) and SSM
// d_state×d_inner, F32 (llama-hparams.cpp n_embd_r/n_embd_s).
func TestRecurrentStateBothEngines(t *testing.T) {
	conv := uint64(3 * (8192 + 2*128))
	ssm := uint64(128 * 8192)
	perSeq := 4 * (conv + ssm)
	kvRow := uint64(2 * 8 * 128 * 2)

	// llama.cpp (granitehybrid): 3 recurrent layers, mem_size = n_seq_max; the
	// attention layer of a hybrid gets n_ctx cells per stream.
	for _, par := range []int{1, 2} {
		r := Analyze(Input{Summary: mamba2Hybrid("granitehybrid"), Engine: EngineOllama, Context: 2048, Parallel: par, Target: Target{RAMBytes: 1 << 36}})
		nctx := uint64(2048 * par)
		want := 3*perSeq*uint64(par) + kvRow*nctx*uint64(par)
		if got := cpuDev(r).KVBytes; got != want {
			t.Errorf("granitehybrid par %d: kv+rs %d, want %d", par, got, want)
		}
		if r.StateBytes != 3*perSeq*uint64(par) {
			t.Errorf("state %d", r.StateBytes)
		}
	}
	// Ollama's engine (nemotron_h): 25 slots per sequence (live + 24 checkpoints);
	// layer 3 has an FFN (n_ff > 0) so it is neither recurrent nor attention.
	s := mamba2Hybrid("nemotron_h")
	s.Arch.FeedForwardPerLayer = []int{0, 0, 0, 1024}
	r := Analyze(Input{Summary: s, Engine: EngineOllama, Context: 2048, Parallel: 1, Target: Target{RAMBytes: 1 << 36}})
	if r.EnginePath != PathOllamaEngine {
		t.Fatalf("path %s", r.EnginePath)
	}
	if got, want := cpuDev(r).KVBytes, 2*perSeq*25+kvRow*2048; got != want {
		t.Errorf("nemotron_h: kv+state %d, want %d", got, want)
	}
}

// A tied output is loaded twice by Ollama's engine and there is no output buffer.
func TestOllamaEngineWeights(t *testing.T) {
	s := withArch(toy(4), "qwen3")
	s.OutputTied = true
	s.OutputBytes = 1 << 10 // output_norm only
	eng := cpuDev(Analyze(Input{Summary: s, Engine: EngineOllama, Target: Target{RAMBytes: 1 << 36}}))
	old := cpuDev(Analyze(Input{Summary: withArch(s, "llama"), Engine: EngineOllama, Target: Target{RAMBytes: 1 << 36}}))
	if eng.WeightsBytes != old.WeightsBytes+s.TokenEmbdBytes {
		t.Errorf("weights %d vs llama.cpp %d (+%d expected)", eng.WeightsBytes, old.WeightsBytes, s.TokenEmbdBytes)
	}
	if eng.OutputBytes != 0 || old.OutputBytes == 0 {
		t.Errorf("output buffers %d / %d", eng.OutputBytes, old.OutputBytes)
	}
}

// MLA: the cache holds the latent (kv_lora_rank) plus the RoPE part in one KV
// head, exactly what the file's key/value lengths say (llama-kv-cache.cpp).
func TestMLACache(t *testing.T) {
	s := withArch(toy(2), "deepseek2")
	s.HeadCountKV = []int{1, 1}
	s.KeyLength, s.ValueLength = 576, 512
	s.Arch = gguf.ArchParams{KVLoraRank: 512, RopeDim: 64, KeyLengthMLA: 192, ValueLengthMLA: 128, TokenizerPre: "deepseek-v3"}
	for _, eng := range []string{EngineOllama, EngineLlamaCpp} {
		r := Analyze(Input{Summary: s, Engine: eng, Context: 4096, Target: Target{RAMBytes: 1 << 36}})
		if got, want := cpuDev(r).KVBytes, uint64(2*4096*(576+512)*2); got != want {
			t.Errorf("%s: kv %d, want %d", eng, got, want)
		}
		if cpuDev(r).ComputeBytes == 0 {
			t.Errorf("%s: no compute", eng)
		}
	}
}

// Ollama loads lfm2 / nemotron_h / qwen3next with one sequence whatever
// OLLAMA_NUM_PARALLEL says (server/sched.go load).
func TestOllamaSerialArchitectures(t *testing.T) {
	s := withArch(toy(4), "lfm2")
	s.Arch.TokenizerModel = "gpt2"
	one := Analyze(Input{Summary: s, Engine: EngineOllama, Context: 2048, Parallel: 1, Target: Target{RAMBytes: 1 << 36}})
	two := Analyze(Input{Summary: s, Engine: EngineOllama, Context: 2048, Parallel: 2, Target: Target{RAMBytes: 1 << 36}})
	if two.Parallel != 1 || cpuDev(two).KVBytes != cpuDev(one).KVBytes || len(two.Notes) < 2 {
		t.Fatalf("parallel %d, kv %d vs %d, notes %v", two.Parallel, cpuDev(two).KVBytes, cpuDev(one).KVBytes, two.Notes)
	}
	ls := Analyze(Input{Summary: s, Engine: EngineLlamaCpp, Context: 2048, Parallel: 2, Target: Target{RAMBytes: 1 << 36}})
	if ls.Parallel != 2 {
		t.Fatalf("llama-server keeps parallel: %d", ls.Parallel)
	}
}

// A vision projector is part of the weights on the main device and its
// absence on a vision architecture is said.
func TestVisionProjector(t *testing.T) {
	s := withArch(toy(4), "gemma3")
	gpu := Target{RAMBytes: 1 << 36, GPUs: []GPU{{Name: "g", VRAMBytes: 48 << 30}}}
	base := Analyze(Input{Summary: s, Engine: EngineLlamaCpp, Target: gpu})
	with := Analyze(Input{Summary: s, Engine: EngineLlamaCpp, Target: gpu, ProjectorBytes: 800 << 20})
	if got := with.Memory.Devices[0].WeightsBytes - base.Memory.Devices[0].WeightsBytes; got != 800<<20 {
		t.Errorf("projector on GPU0: +%d", got)
	}
	cpuOnly := Analyze(Input{Summary: s, Engine: EngineLlamaCpp, Target: Target{RAMBytes: 1 << 36}, ProjectorBytes: 800 << 20})
	if cpuDev(cpuOnly).WeightsBytes != cpuDev(Analyze(Input{Summary: s, Engine: EngineLlamaCpp, Target: Target{RAMBytes: 1 << 36}})).WeightsBytes+800<<20 {
		t.Error("projector not in host memory on a CPU target")
	}
	notes := strings.Join(base.Notes, "\n")
	if !strings.Contains(notes, "left out") {
		t.Errorf("missing projector note: %s", notes)
	}
	if !strings.Contains(strings.Join(with.Notes, "\n"), "vision projector") {
		t.Errorf("projector note: %v", with.Notes)
	}
}

// Every architecture in Ollama v0.17.4's OllamaEngineRequired (fs/ggml/ggml.go)
// runs on its engine, even those whose memory fitbench models only roughly.
func TestOllamaEngineRequiredList(t *testing.T) {
	for _, a := range []string{"bert", "deepseek2", "deepseekocr", "gemma3", "gemma3n", "gptoss", "gpt-oss", "llama4", "mistral3",
		"mllama", "nemotron_h", "nemotron_h_moe", "nomic-bert", "olmo3", "qwen25vl", "qwen3", "qwen3moe", "qwen35", "qwen35moe",
		"qwen3next", "qwen3vl", "qwen3vlmoe", "glm4moelite", "glmocr", "lfm2", "lfm2moe"} {
		s := withArch(toy(4), a)
		s.Arch.TokenizerModel, s.Arch.TokenizerPre = "gpt2", "deepseek-v3"
		if a == "glm4moelite" {
			s.Arch.TokenizerPre = "glm4"
		}
		if p, _ := enginePath(EngineOllama, s, profileFor(s), false); p != PathOllamaEngine {
			t.Errorf("%s: path %s", a, p)
		}
	}
}
