package main

import (
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// `fitbench analyze` of header-only, real-shaped models names the engine path
// in the report and in the JSON, as Ollama v0.17.4 decides it (issue 10).
func TestAnalyzeNamesEnginePath(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	dir := t.TempDir()
	for _, c := range []struct {
		preset, engine, label, path string
	}{
		{"gemma3-27b", "ollama", "Ollama's own engine", "ollama-engine"},
		{"deepseek-v3", "ollama", "Ollama's own engine", "ollama-engine"},
		{"granite-4.0-h-tiny", "ollama", "Ollama's llama.cpp runner", "ollama-llamacpp"},
		{"qwen3-30b-a3b", "llamacpp", "llama-server", "llama-server"},
	} {
		spec, err := synth.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		files, err := synth.Write(dir, c.preset, spec)
		if err != nil {
			t.Fatal(err)
		}
		r := f.ok("", "analyze", files[0], "--engine", c.engine, "--cpu-only", "--ctx", "8192")
		if !strings.Contains(r.stdout, "Runs on") || !strings.Contains(r.stdout, c.label) {
			t.Errorf("%s: report does not name %q:\n%s", c.preset, c.label, r.stdout)
		}
		var j struct {
			EnginePath string `json:"engine_path"`
		}
		f.jsonOK(&j, "analyze", files[0], "--engine", c.engine, "--cpu-only", "--ctx", "8192", "--json")
		if j.EnginePath != c.path {
			t.Errorf("%s: engine_path %q, want %q", c.preset, j.EnginePath, c.path)
		}
	}
}
