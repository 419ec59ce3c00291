package main

import (
	"flag"
	"fmt"
	"strings"
)

// engineFlags are --engine, --base-url and --model, the same on bench,
// install and serve: `--engine openai --base-url URL --model NAME` benchmarks
// on any OpenAI-compatible server that is already running.
type engineFlags struct {
	name, baseURL, model string
}

func addEngineFlags(fs *flag.FlagSet) *engineFlags {
	ef := &engineFlags{}
	fs.StringVar(&ef.name, "engine", "auto", "benchmark engine: auto, ollama, llamacpp, vllm, openai")
	fs.StringVar(&ef.baseURL, "base-url", "", "openai engine: the server's OpenAI-compatible base URL (…/v1)")
	fs.StringVar(&ef.model, "model", "", "openai engine: the model name to request (default the fitbench model id)")
	return ef
}

// check refuses a --base-url or --model that would be ignored, and an openai
// engine without a URL, before anything is downloaded or started.
func (ef *engineFlags) check() error {
	isOpenAI := strings.EqualFold(strings.TrimSpace(ef.name), "openai")
	if isOpenAI && ef.baseURL == "" {
		return fmt.Errorf("%w: --engine openai needs --base-url URL (e.g. http://127.0.0.1:8000/v1)", errUsage)
	}
	if !isOpenAI && (ef.baseURL != "" || ef.model != "") {
		return fmt.Errorf("%w: --base-url and --model are for --engine openai", errUsage)
	}
	return nil
}
