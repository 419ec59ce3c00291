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

// Start runs llama-server -m FILE -ngl N -c CTX×P -np P and waits for /health
// to answer 200 (it answers 503 while the model loads).
func (l *LlamaCpp) Start(ctx context.Context, s Settings) (Instance, error) {
	bin, port, err := prepareSpawn(l.Binary, "llama-server", "llamacpp", llamaInstallHint, s)
	if err != nil {
		return nil, err
	}
	args := llamaArgs(s, port)
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
		parallel: max(s.Parallel, 1), proc: p, client: c, memory: llamaMemory, binary: bin,
	}, nil
}

// llamaArgs is llama-server's command line for s. Settings.Ctx is per
// sequence; llama-server's -c is the total over its -np slots (tools/server
// splits n_ctx into n_ctx/n_parallel per slot), so -c = Ctx × Parallel.
func llamaArgs(s Settings, port int) []string {
	par := max(s.Parallel, 1)
	args := []string{"-m", s.ModelPath, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "-np", strconv.Itoa(par)}
	if s.GPULayers >= 0 {
		args = append(args, "-ngl", strconv.Itoa(s.GPULayers))
	}
	if s.Ctx > 0 {
		args = append(args, "-c", strconv.Itoa(s.Ctx*par))
	}
	if s.NBatch > 0 {
		args = append(args, "-b", strconv.Itoa(s.NBatch))
	}
	if s.NUbatch > 0 {
		args = append(args, "-ub", strconv.Itoa(s.NUbatch))
	}
	if s.Threads > 0 {
		args = append(args, "-t", strconv.Itoa(s.Threads))
	}
	if s.Seed != 0 {
		args = append(args, "--seed", strconv.Itoa(s.Seed))
	}
	if s.CacheType != "" {
		// A quantized V cache needs flash attention (llama-context.cpp: "V cache
		// quantization requires flash_attn"); llama-server's default -fa auto
		// turns it on where the device supports it, so no -fa is passed (its
		// syntax changed from a switch to on|off|auto across versions).
		args = append(args, "-ctk", s.CacheType, "-ctv", s.CacheType)
	}
	if s.ProjectorPath != "" {
		// tools/server/server.cpp: --mmproj loads the projector through mtmd
		// (clip) next to the text model, so image input works and its weights
		// are allocated at load, as the estimate counts them.
		args = append(args, "--mmproj", s.ProjectorPath)
	}
	if s.ModelID != "" {
		args = append(args, "--alias", s.ModelID)
	}
	return append(args, extraArgs(s.Extra)...)
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
