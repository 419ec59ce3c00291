package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf"
)

// VLLM spawns `vllm serve` for one GGUF model.
type VLLM struct {
	Binary string // default: vllm on PATH
	Client *http.Client
}

func (v *VLLM) Name() string { return "vllm" }

var vllmInstallHint = "pip install vllm (needs a supported GPU)"

// Start runs vllm serve FILE --tokenizer … with the plan's flags and waits for /health.
func (v *VLLM) Start(ctx context.Context, s Settings) (Instance, error) {
	args, err := vllmArgs(s, 0)
	if err != nil { // refuse before looking for the binary: the answer does not depend on it
		return nil, err
	}
	bin, port, err := prepareSpawn(v.Binary, "vllm", "vllm", vllmInstallHint, s)
	if err != nil {
		return nil, err
	}
	if args, err = vllmArgs(s, port); err != nil {
		return nil, err
	}
	p, base, c, err := spawnAndWait(ctx, "vllm", "vllm", bin, args, port, s, v.Client)
	if err != nil {
		return nil, err
	}
	par := s.Parallel
	if par <= 0 {
		par = 256 // vLLM's default max-num-seqs
	}
	inst := &spawnedInstance{engine: "vllm", base: base, model: vllmModelName(s), flags: argsToFlags(args[1:]),
		parallel: par, proc: p, client: c, memory: vllmMemory, binary: bin, notes: vllmNotes(s)}
	inst.metrics = func(ctx context.Context) (EngineCounters, error) {
		text, err := Metrics(ctx, inst)
		if err != nil {
			return EngineCounters{}, err
		}
		return ParseVLLMMetrics(text)
	}
	return inst, nil
}

func vllmModelName(s Settings) string {
	if s.ModelID != "" {
		return s.ModelID
	}
	return filepath.Base(s.ModelPath)
}

// VLLMCacheDType maps a KV cache type to one vLLM has (vllm/config CacheDType:
// auto, fp8, fp8_e4m3, fp8_e5m2). f16 is vLLM's "auto" (the model's dtype);
// llama.cpp's q8_0/q4_0 have no vLLM counterpart and are refused.
func VLLMCacheDType(t string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "", "auto", "f16", "fp16", "bf16":
		return "auto", nil
	case "fp8", "fp8_e4m3", "fp8_e5m2":
		return strings.ToLower(strings.TrimSpace(t)), nil
	}
	return "", fmt.Errorf("vllm: KV cache type %q is llama.cpp's, vLLM has none like it: use auto, fp8, fp8_e4m3 or fp8_e5m2", t)
}

// vllmNotes are said with every vLLM result of a model started with s.
func vllmNotes(s Settings) []string {
	notes := []string{VLLMNotRunNote}
	if s.ProjectorPath != "" {
		notes = append(notes, VLLMProjectorNote)
	}
	return notes
}

// vllmArgs is `vllm serve`'s command line for s: the plan's flags in vLLM's
// own terms. vLLM loads only single-file GGUF models (docs/features/
// quantization/gguf.md: "vllm only supports loading single-file GGUF models"),
// so a shard of a split model is refused with how to merge it.
func vllmArgs(s Settings, port int) ([]string, error) {
	if s.ModelPath == "" {
		return nil, fmt.Errorf("vllm: no model file given")
	}
	if _, _, n, ok := gguf.ParseSplit(filepath.Base(s.ModelPath)); ok && n > 1 {
		return nil, &NotAvailableError{Engine: "vllm", Msg: fmt.Sprintf("%s is shard 1 of a %d-file split GGUF, and vLLM loads only single-file GGUF models", filepath.Base(s.ModelPath), n),
			Hint: "merge the shards first (llama.cpp: llama-gguf-split --merge FIRST-SHARD.gguf MERGED.gguf) and register the merged file with fitbench add-local, or benchmark with --engine ollama or llamacpp"}
	}
	dtype, err := VLLMCacheDType(s.CacheType)
	if err != nil {
		return nil, err
	}
	args := []string{"serve", s.ModelPath, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--served-model-name", vllmModelName(s)}
	if s.Tokenizer != "" {
		args = append(args, "--tokenizer", s.Tokenizer)
	}
	if s.Ctx > 0 {
		args = append(args, "--max-model-len", strconv.Itoa(s.Ctx)) // per sequence, as Settings.Ctx
	}
	if s.Parallel > 0 {
		args = append(args, "--max-num-seqs", strconv.Itoa(s.Parallel))
	}
	if s.GPUMemUtil > 0 {
		args = append(args, "--gpu-memory-utilization", strconv.FormatFloat(s.GPUMemUtil, 'f', -1, 64))
	}
	if s.CPUOffloadGB > 0 {
		args = append(args, "--cpu-offload-gb", strconv.FormatFloat(s.CPUOffloadGB, 'f', -1, 64))
	}
	if s.TensorParallel > 1 {
		args = append(args, "--tensor-parallel-size", strconv.Itoa(s.TensorParallel))
	}
	if dtype != "auto" {
		args = append(args, "--kv-cache-dtype", dtype)
	}
	if s.Seed != 0 {
		args = append(args, "--seed", strconv.Itoa(s.Seed))
	}
	return append(args, extraArgs(s.Extra)...), nil
}

// vllmMemory reads the KV-cache memory vLLM logs at start ("Model loading took X GiB",
// "Available KV cache memory: X GiB"). vLLM's /metrics reports cache
// usage as a fraction, not bytes, so the log is the only byte count.
func vllmMemory(_ context.Context, i *spawnedInstance) (MemoryReport, error) {
	text, err := i.proc.readLog()
	if err != nil {
		return MemoryReport{}, fmt.Errorf("vllm log: %w", err)
	}
	var gib float64
	for _, key := range []string{"Model loading took", "Available KV cache memory:"} {
		if k := strings.LastIndex(text, key); k >= 0 {
			fields := strings.Fields(text[k+len(key):])
			if len(fields) > 0 {
				if x, err := strconv.ParseFloat(fields[0], 64); err == nil {
					gib += x
				}
			}
		}
	}
	if gib == 0 {
		return MemoryReport{}, fmt.Errorf("vllm log has no memory lines: %w", ErrNotMeasured)
	}
	return MemoryReport{GPUBytes: int64(gib * (1 << 30)), Source: "vllm log"}, nil
}

// Metrics returns vLLM's Prometheus text from /metrics.
func Metrics(ctx context.Context, inst Instance) (string, error) {
	base := strings.TrimSuffix(inst.BaseURL(), "/v1")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return string(b), err
}
