package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
)

// VLLM spawns `vllm serve` for one GGUF model.
type VLLM struct {
	Binary string // default: vllm on PATH
	Client *http.Client
}

func (v *VLLM) Name() string { return "vllm" }

var vllmInstallHint = "pip install vllm (needs a supported GPU)"

// Start runs vllm serve FILE --tokenizer … and waits for /health.
func (v *VLLM) Start(ctx context.Context, s Settings) (Instance, error) {
	bin, port, err := prepareSpawn(v.Binary, "vllm", "vllm", vllmInstallHint, s)
	if err != nil {
		return nil, err
	}
	model := s.ModelID
	if model == "" {
		model = filepath.Base(s.ModelPath)
	}
	args := []string{"serve", s.ModelPath, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--served-model-name", model}
	if s.Tokenizer != "" {
		args = append(args, "--tokenizer", s.Tokenizer)
	}
	if s.Ctx > 0 {
		args = append(args, "--max-model-len", strconv.Itoa(s.Ctx))
	}
	par := s.Parallel
	if par > 0 {
		args = append(args, "--max-num-seqs", strconv.Itoa(par))
	} else {
		par = 256 // vLLM's default max-num-seqs
	}
	if s.GPUMemUtil > 0 {
		args = append(args, "--gpu-memory-utilization", strconv.FormatFloat(s.GPUMemUtil, 'f', -1, 64))
	}
	if s.CPUOffloadGB > 0 {
		args = append(args, "--cpu-offload-gb", strconv.FormatFloat(s.CPUOffloadGB, 'f', -1, 64))
	}
	if s.Seed != 0 {
		args = append(args, "--seed", strconv.Itoa(s.Seed))
	}
	if s.CacheType != "" && s.CacheType != "f16" {
		args = append(args, "--kv-cache-dtype", s.CacheType)
	}
	args = append(args, extraArgs(s.Extra)...)
	p, base, c, err := spawnAndWait(ctx, "vllm", "vllm", bin, args, port, s, v.Client)
	if err != nil {
		return nil, err
	}
	return &spawnedInstance{engine: "vllm", base: base, model: model, flags: argsToFlags(args[1:]),
		parallel: par, proc: p, client: c, memory: vllmMemory}, nil
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
