package llamalog

import "testing"

// Lines captured from the test Ollama (v0.17.4, CPU) loading a generated model,
// plus the GPU forms llama.cpp prints (REFERENCE.md) and older prefixes.
const ollamaLog = `time=2026-11-28T12:13:35.971Z level=INFO source=device.go:245 msg="model weights" device=CPU size="6.0 MiB"
time=2026-11-28T12:13:35.971Z level=INFO source=device.go:256 msg="kv cache" device=CPU size="4.0 MiB"
time=2026-11-28T12:13:35.971Z level=INFO source=device.go:272 msg="total memory" size="10.0 MiB"
load_tensors: loading model tensors, this can take a while... (mmap = false)
load_tensors:          CPU model buffer size =     6.52 MiB
llama_context: n_ctx         = 2048
llama_context: n_ubatch      = 512
llama_context: flash_attn    = auto
llama_context:        CPU  output buffer size =     0.00 MiB
llama_kv_cache:        CPU KV buffer size =     4.00 MiB
llama_kv_cache: size =    4.00 MiB (  2048 cells,   4 layers,  1/1 seqs), K (f16):    2.00 MiB, V (f16):    2.00 MiB
llama_context: Flash Attention was auto, set to enabled
llama_context:        CPU compute buffer size =     9.36 MiB
`

const gpuLog = `load_tensors: offloaded 29/29 layers to GPU
load_tensors:   CPU_Mapped model buffer size =   308.23 MiB
load_tensors:        CUDA0 model buffer size =   852.89 MiB
llama_kv_cache_unified:      CUDA0 KV buffer size =    56.00 MiB
llama_kv_cache_init:        CPU KV buffer size =    32.00 MiB
llama_context:      CUDA0 compute buffer size =   300.75 MiB
llama_context:  CUDA_Host compute buffer size =    13.01 MiB
llama_context:  CUDA_Host  output buffer size =     0.58 MiB
llama_context:      CUDA0 compute buffer size =   299.75 MiB
time=x level=INFO msg="compute graph" device=CUDA0 size="1.2 GiB"
`

func TestParseOllamaCPU(t *testing.T) {
	m := Parse(ollamaLog)
	if m.OffloadedLayers != -1 || m.NCtx != 2048 || m.NUbatch != 512 || m.FlashAttention == nil || !*m.FlashAttention {
		t.Fatalf("%+v", m)
	}
	if got := m.Total(Weights); got != mib(6.52, 20) {
		t.Fatalf("weights %d", got)
	}
	if m.Total(KV) != 4<<20 || m.Total(Compute) != mib(9.36, 20) || m.Total(Total) != 10<<20 {
		t.Fatalf("%+v", m.Entries)
	}
	if m.Sum() != m.Total(Weights)+m.Total(KV)+m.Total(Compute) {
		t.Fatal("sum")
	}
}

func TestParseGPU(t *testing.T) {
	m := Parse(gpuLog)
	if m.OffloadedLayers != 29 || m.TotalLayers != 29 {
		t.Fatalf("layers %d/%d", m.OffloadedLayers, m.TotalLayers)
	}
	if m.Device("CPU", Weights) != mib(308.23, 20) || m.Device("CUDA0", KV) != 56<<20 || m.Device("CPU", KV) != 32<<20 {
		t.Fatalf("%+v", m.Entries)
	}
	// last value per (device, kind) wins: the Ollama line came last
	if m.Device("CUDA0", Compute) != mib(1.2, 30) {
		t.Fatalf("compute %d", m.Device("CUDA0", Compute))
	}
	if m.Device("CUDA_Host", Output) != mib(0.58, 20) {
		t.Fatal("output")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(ollamaLog)
	f.Add(gpuLog)
	f.Fuzz(func(t *testing.T, s string) { _ = Parse(s) })
}

func mib(v float64, shift uint) uint64 { return uint64(v*float64(uint64(1)<<shift) + 0.5) }

// The settings a load actually used, read back for the run's record: cache
// types (llama-kv-cache.cpp's size line), batch sizes and sequences
// (llama-context.cpp), and which of Ollama's engines ran the model (its
// "starting runner" lines: the last one is the runner that loaded it).
func TestParseLoadSettings(t *testing.T) {
	log := `time=x level=INFO source=server.go:431 msg="starting runner" cmd="/bin/ollama runner --ollama-engine --port 33723"
time=x level=INFO source=server.go:431 msg="starting runner" cmd="/bin/ollama runner --model /m/blob --port 40685"
llama_context: n_seq_max     = 2
llama_context: n_ctx         = 4096
llama_context: n_batch       = 512
llama_context: n_ubatch      = 256
llama_kv_cache: size =    2.12 MiB (  4096 cells,   4 layers,  2/2 seqs), K (q8_0):    1.06 MiB, V (q8_0):    1.06 MiB
`
	m := Parse(log)
	if m.Runner != RunnerLlamaCpp || m.NSeqMax != 2 || m.NBatch != 512 || m.NUbatch != 256 || m.CacheTypeK != "q8_0" || m.CacheTypeV != "q8_0" || m.NCtx != 4096 {
		t.Fatalf("%+v", m)
	}
	if m := Parse(`msg="starting runner" cmd="/bin/ollama runner --ollama-engine --port 1"`); m.Runner != RunnerOllama {
		t.Fatalf("ollama engine: %+v", m)
	}
	if m := Parse(ollamaLog); m.CacheTypeK != "f16" || m.Runner != "" {
		t.Fatalf("captured log: %+v", m)
	}
}
