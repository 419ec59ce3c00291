package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// TestInstallAndBenchOnAnOpenAIServer: `--engine openai --base-url URL --model
// NAME` works on install as on bench (a real Ollama's /v1 serves it). That API
// reports no timings, so the run says its decode rate is the harness's. A run
// whose samples all fail lists the reason and exits 1.
func TestInstallAndBenchOnAnOpenAIServer(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	f, files := smallRepoFixture(t, localhub.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not an assertion
	defer cancel()
	// The server knows the model under a name of its own (imported once here).
	inst, err := (&engine.Ollama{Host: srv.URL}).Start(ctx, engine.Settings{ModelPath: files["Q8_0"][0], ModelID: "served/small:q8", GPULayers: -1, Ctx: 512})
	if err != nil {
		t.Fatal(err)
	}
	name := inst.Model()
	base := srv.URL + "/v1"
	r := f.run("", "install", smallRepo+":Q8_0", "--engine", "openai", "--base-url", base, "--model", name, "--samples", "2", "--max-tokens", "6")
	if r.code != 0 || !strings.Contains(r.stdout, "Engine       openai") || !strings.Contains(r.stdout, "harness stream timing") {
		t.Fatalf("install on an OpenAI server: %s", r)
	}
	// Every sample fails (the server does not know the model): the reason is
	// printed with the run, and the exit status is 1.
	r = f.run("", "bench", smallRepo+":Q8_0", "--engine", "openai", "--base-url", base, "--model", "no/such:model", "--samples", "2")
	if r.code != 1 || !strings.Contains(r.stdout, "HTTP 404") || !strings.Contains(r.stderr, "HTTP 404") {
		t.Errorf("bench with failing samples: %s", r)
	}
	// Flags that would be ignored are refused before anything runs.
	if r := f.run("", "install", smallRepo+":Q8_0", "--engine", "openai"); r.code != 2 || !strings.Contains(r.stderr, "--base-url") {
		t.Errorf("openai without --base-url: %s", r)
	}
	if r := f.run("", "serve", "--base-url", base); r.code != 2 || !strings.Contains(r.stderr, "--engine openai") {
		t.Errorf("serve --base-url without --engine openai: %s", r)
	}
}

// TestAnalyzeForVLLMSpeaksVLLM: the report for vLLM shows vLLM's plan in its own
// flags and says the adapter never ran against a real vLLM.
func TestAnalyzeForVLLMSpeaksVLLM(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	r := f.ok("", "analyze", smallRepo+":Q8_0", "--engine", "vllm", "--gpu", "RTX 4080")
	for _, want := range []string{"vLLM (estimate only", "has not been run against a real vLLM", "--CPU-OFFLOAD-GB", "--gpu-memory-utilization", "RTX 4080 (17.18 GB)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("vLLM analysis lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "layers run on the CPU") || strings.Contains(r.stdout, "GiB") {
		t.Errorf("vLLM analysis speaks llama.cpp or mixes units:\n%s", r.stdout)
	}
}

// TestReportUnitsAndComparisonLabels: one unit per quantity (the GPU label and
// "Available" agree in GB), the recommendation's reason on one line, and the
// comparison table saying what its numbers are, with the candidate and the
// installed models under distinct names.
func TestReportUnitsAndComparisonLabels(t *testing.T) {
	f, _ := smallRepoFixture(t, localhub.Options{})
	f.install(smallRepo + ":Q8_0")
	r := f.ok("", "analyze", smallRepo+":Q8_0", "--gpu", "RTX 4080")
	if strings.Count(r.stdout, "17.18 GB") < 2 || strings.Contains(r.stdout, "GiB") {
		t.Errorf("GPU label and Available disagree or mix units:\n%s", r.stdout)
	}
	for _, want := range []string{"Recommended: ", "(decode tok/s, one stream)", "DECODE TOK/S", smallRepo + ":Q8_0 (candidate)", "estimate",
		smallRepo + ":Q8_0 (installed: this variant)", "not benchmarked"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("analysis lacks %q:\n%s", want, r.stdout)
		}
	}
}
