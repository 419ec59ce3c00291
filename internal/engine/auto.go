package engine

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
)

// NoEngineError is Auto's answer when no engine can be used; it names what to
// install and how.
type NoEngineError struct{}

func (NoEngineError) Error() string {
	return "no inference engine found: install one of\n" +
		"  - Ollama: " + ollamaInstallHint + "\n" +
		"  - llama.cpp: " + llamaInstallHint + "\n" +
		"  - vLLM: " + vllmInstallHint + "\n" +
		"or point OLLAMA_HOST at a running Ollama server, or use --engine openai with a server URL"
}

// Auto picks an engine: llama-server on PATH → llamacpp; an Ollama server answering
// at OLLAMA_HOST (default 127.0.0.1:11434) or an ollama binary (PATH or
// ~/.cache/fitbench/tools/bin) → ollama; vllm on PATH → vllm.
func Auto(ctx context.Context) (Engine, error) {
	if _, err := exec.LookPath("llama-server"); err == nil {
		return &LlamaCpp{}, nil
	}
	if ollamaReachable(ctx, http.DefaultClient, ollamaHost(os.Getenv("OLLAMA_HOST"))) || ollamaBinary() != "" {
		return &Ollama{}, nil
	}
	if _, err := exec.LookPath("vllm"); err == nil {
		return &VLLM{}, nil
	}
	return nil, NoEngineError{}
}

// ByName returns the engine called name ("auto", "ollama", "llamacpp" or
// "llama-server", "vllm", "openai"). For openai, baseURL and model say where.
func ByName(ctx context.Context, name, baseURL, model string) (Engine, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "auto":
		return Auto(ctx)
	case "ollama":
		return &Ollama{}, nil
	case "llamacpp", "llama.cpp", "llama-server":
		return &LlamaCpp{}, nil
	case "vllm":
		return &VLLM{}, nil
	case "openai":
		return &OpenAI{BaseURL: baseURL, Model: model}, nil
	}
	return nil, fmt.Errorf("unknown engine %q (want auto, ollama, llamacpp, vllm or openai)", name)
}
