package engine

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
)

// LlamaCpp spawns llama-server for one model on a free loopback port.
type LlamaCpp struct {
	Binary string // default: llama-server on PATH
	Client *http.Client
}

func (l *LlamaCpp) Name() string { return "llamacpp" }

var llamaInstallHint = "build llama.cpp's llama-server (https://github.com/ggml-org/llama.cpp: cmake -B build && cmake --build build --target llama-server) and put it on PATH"

// Start runs llama-server -m FILE -ngl N -c CTX -np P and waits for /health to
// answer 200 (it answers 503 while the model loads).
func (l *LlamaCpp) Start(ctx context.Context, s Settings) (Instance, error) {
	bin, port, err := prepareSpawn(l.Binary, "llama-server", "llamacpp", llamaInstallHint, s)
	if err != nil {
		return nil, err
	}
	par := s.Parallel
	if par <= 0 {
		par = 1
	}
	args := []string{"-m", s.ModelPath, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "-np", strconv.Itoa(par)}
	if s.GPULayers >= 0 {
		args = append(args, "-ngl", strconv.Itoa(s.GPULayers))
	}
	if s.Ctx > 0 {
		args = append(args, "-c", strconv.Itoa(s.Ctx))
	}
	if s.Threads > 0 {
		args = append(args, "-t", strconv.Itoa(s.Threads))
	}
	if s.Seed != 0 {
		args = append(args, "--seed", strconv.Itoa(s.Seed))
	}
	if s.CacheType != "" {
		args = append(args, "-ctk", s.CacheType, "-ctv", s.CacheType)
	}
	if s.ModelID != "" {
		args = append(args, "--alias", s.ModelID)
	}
	args = append(args, extraArgs(s.Extra)...)
	p, base, c, err := spawnAndWait(ctx, "llamacpp", "llama-server", bin, args, port, s, l.Client)
	if err != nil {
		return nil, err
	}
	model := s.ModelID
	if model == "" {
		model = filepath.Base(s.ModelPath)
	}
	return &spawnedInstance{
		engine: "llamacpp", base: base, model: model, flags: argsToFlags(args),
		parallel: par, proc: p, client: c, memory: llamaMemory,
	}, nil
}

// llamaMemory reads the buffer lines llama-server printed while loading.
func llamaMemory(_ context.Context, i *spawnedInstance) (MemoryReport, error) {
	text, err := i.proc.readLog()
	if err != nil {
		return MemoryReport{}, fmt.Errorf("llama-server log: %w", err)
	}
	lm := llamalog.Parse(text)
	if len(lm.Entries) == 0 {
		return MemoryReport{}, fmt.Errorf("llama-server log has no buffer size lines: %w", ErrNotMeasured)
	}
	gpu, cpu := memoryFromLog(lm)
	return MemoryReport{GPUBytes: gpu, CPUBytes: cpu, Source: "llama-server load log", Log: &lm}, nil
}
