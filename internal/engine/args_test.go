package engine

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// Context is per sequence in every adapter: llama-server's -c is the total
// over its slots, vLLM's --max-model-len and Ollama's num_ctx are per sequence.
func TestContextIsPerSequenceInEveryAdapter(t *testing.T) {
	s := Settings{ModelPath: "/m/x.gguf", ModelID: "o/r:Q4_0", GPULayers: 10, Ctx: 2048, Parallel: 4,
		CacheType: "q8_0", NBatch: 1024, NUbatch: 256}
	f := argsToFlags(llamaArgs(s, 9000))
	if f["-c"] != "8192" || f["-np"] != "4" || f["-ngl"] != "10" || f["-ctk"] != "q8_0" || f["-ctv"] != "q8_0" ||
		f["-b"] != "1024" || f["-ub"] != "256" {
		t.Errorf("llama-server flags %v", f)
	}
	s.CacheType = "fp8"
	va, err := vllmArgs(s, 9000)
	if err != nil {
		t.Fatal(err)
	}
	vf := argsToFlags(va[1:])
	if vf["--max-model-len"] != "2048" || vf["--max-num-seqs"] != "4" {
		t.Errorf("vllm flags %v", vf)
	}
	o := (&ollamaInstance{settings: Settings{Ctx: 2048, Parallel: 4, GPULayers: -1, NBatch: 256}}).options()
	if o["num_ctx"] != 2048 || o["num_batch"] != 256 {
		t.Errorf("ollama options %v", o)
	}
}

// The command line the vLLM docs show (docs/features/quantization/gguf.md:
// `vllm serve ./tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf --tokenizer
// TinyLlama/TinyLlama-1.1B-Chat-v1.0 --tensor-parallel-size 2`), plus the
// plan's memory flags as vLLM's engine arguments name them.
func TestVLLMCommandLine(t *testing.T) {
	s := Settings{ModelPath: "./tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", ModelID: "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF:Q4_K_M",
		Tokenizer: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", TensorParallel: 2, Ctx: 4096, Parallel: 8,
		GPUMemUtil: 0.9, CPUOffloadGB: 2.5, CacheType: "fp8_e5m2", Seed: 1}
	args, err := vllmArgs(s, 8000)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	want := "serve ./tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf --host 127.0.0.1 --port 8000 --served-model-name TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF:Q4_K_M" +
		" --tokenizer TinyLlama/TinyLlama-1.1B-Chat-v1.0 --max-model-len 4096 --max-num-seqs 8 --gpu-memory-utilization 0.9" +
		" --cpu-offload-gb 2.5 --tensor-parallel-size 2 --kv-cache-dtype fp8_e5m2 --seed 1"
	if got != want {
		t.Errorf("vllm serve\n got %s\nwant %s", got, want)
	}
	// f16 is vLLM's auto (no flag); llama.cpp cache types are refused by name.
	for in, want := range map[string]string{"": "auto", "f16": "auto", "auto": "auto", "fp8": "fp8", "FP8_E4M3": "fp8_e4m3"} {
		if got, err := VLLMCacheDType(in); err != nil || got != want {
			t.Errorf("VLLMCacheDType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"q8_0", "q4_0"} {
		s.CacheType = bad
		if _, err := vllmArgs(s, 8000); err == nil || !strings.Contains(err.Error(), "fp8") {
			t.Errorf("cache type %s: %v", bad, err)
		}
	}
}

func TestVLLMRefusesSplitGGUF(t *testing.T) {
	_, err := (&VLLM{Binary: "/nonexistent/vllm"}).Start(t.Context(), Settings{ModelPath: "/models/Big-Q4_K_M-00001-of-00003.gguf"})
	var na *NotAvailableError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "single-file GGUF") || !strings.Contains(na.Hint, "llama-gguf-split --merge") {
		t.Fatalf("split GGUF: %v", err)
	}
	if _, err := vllmArgs(Settings{ModelPath: "/models/Small-Q4_K_M-00001-of-00001.gguf"}, 1); err != nil {
		t.Errorf("a one-part split is a single file: %v", err)
	}
}

// vllmMetricsBefore/After have the shape vLLM's /metrics answers with
// (docs/usage/metrics.md "curl http://0.0.0.0:8000/metrics": HELP/TYPE lines,
// series labelled by model_name; v1 adds engine="0", and prometheus_client adds
// "_created" timestamps to counters and histograms), with the metric names of
// vLLM v1 (vllm/v1/metrics/loggers.py).
const vllmMetricsBefore = `# HELP vllm:iteration_tokens_total Histogram of number of tokens per engine_step.
# TYPE vllm:iteration_tokens_total histogram
vllm:iteration_tokens_total_sum{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 0.0
vllm:iteration_tokens_total_bucket{engine="0",le="1.0",model_name="unsloth/Llama-3.2-1B-Instruct"} 3.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 40.0
vllm:prompt_tokens_created{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 1.7387e+09
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 100.0
vllm:generation_tokens_created{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 1.7387e+09
# HELP vllm:request_success_total Count of successfully processed requests.
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="unsloth/Llama-3.2-1B-Instruct"} 1.0
vllm:request_success_total{engine="0",finished_reason="length",model_name="unsloth/Llama-3.2-1B-Instruct"} 3.0
# HELP vllm:request_decode_time_seconds Histogram of time spent in DECODE phase for request.
# TYPE vllm:request_decode_time_seconds histogram
vllm:request_decode_time_seconds_sum{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 1.5
vllm:request_decode_time_seconds_bucket{engine="0",le="0.3",model_name="unsloth/Llama-3.2-1B-Instruct"} 0.0
vllm:request_decode_time_seconds_bucket{engine="0",le="+Inf",model_name="unsloth/Llama-3.2-1B-Instruct"} 4.0
vllm:request_decode_time_seconds_count{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 4.0
vllm:request_decode_time_seconds_created{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 1.7387e+09
# HELP vllm:request_prefill_time_seconds Histogram of time spent in PREFILL phase for request.
# TYPE vllm:request_prefill_time_seconds histogram
vllm:request_prefill_time_seconds_sum{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 0.2
vllm:request_prefill_time_seconds_count{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 4.0
`

func TestParseVLLMMetrics(t *testing.T) {
	before, err := ParseVLLMMetrics(vllmMetricsBefore)
	if err != nil {
		t.Fatal(err)
	}
	if before.GenerationTokens != 100 || before.PromptTokens != 40 || before.Requests != 4 || before.DecodeSeconds != 1.5 || before.PrefillSeconds != 0.2 {
		t.Fatalf("before %+v", before)
	}
	// Two more requests of 33 tokens each: 64 decode steps in 0.8 s.
	after := strings.NewReplacer(
		`model_name="unsloth/Llama-3.2-1B-Instruct"} 100.0`, `model_name="unsloth/Llama-3.2-1B-Instruct"} 166.0`,
		`vllm:request_decode_time_seconds_sum{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 1.5`, `vllm:request_decode_time_seconds_sum{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 2.3`,
		`vllm:request_decode_time_seconds_count{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 4.0`, `vllm:request_decode_time_seconds_count{engine="0",model_name="unsloth/Llama-3.2-1B-Instruct"} 6.0`,
	).Replace(vllmMetricsBefore)
	a, err := ParseVLLMMetrics(after)
	if err != nil {
		t.Fatal(err)
	}
	d := a.Sub(before)
	if d.GenerationTokens != 66 || d.Requests != 2 || math.Abs(d.DecodeStepTPS()-64/0.8) > 1e-9 {
		t.Errorf("delta %+v rate %v", d, d.DecodeStepTPS())
	}
	if _, err := ParseVLLMMetrics("# nothing\nprocess_cpu_seconds_total 3.0\n"); !errors.Is(err, ErrNotMeasured) {
		t.Errorf("no vllm series: %v", err)
	}
	if _, err := ParseVLLMMetrics("vllm:generation_tokens_total{engine=\"0\"} abc\n"); err == nil {
		t.Error("a bad value was accepted")
	}
}

// Ollama compares pieces after TrimSpace and drops the 32nd equal one
// (llm/server.go "tokenRepeat > 30").
func TestRepeatTracker(t *testing.T) {
	var r repeatTracker
	r.add("a")
	for i := 0; i < 30; i++ {
		r.add(" x")
	}
	if r.hitLimit() {
		t.Fatal("30 equal pieces are below the limit")
	}
	r.add("x ")
	if !r.hitLimit() || r.pieces != 32 {
		t.Fatalf("31 equal pieces: %+v", r)
	}
	r.add("y")
	if r.hitLimit() {
		t.Fatal("a different piece resets the run")
	}
}
