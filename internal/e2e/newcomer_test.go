package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// TestNewcomerEngineAndLikeForLike is a fresh machine: no engine on PATH, no
// Ollama server answering, only the CPU Ollama the project builds in
// ~/.cache/fitbench/tools/bin. `fitbench install` with the default engine
// (auto) must find that build, benchmark on it, say so in its output, and
// record the run with the estimate made for the run's own settings.
func TestNewcomerEngineAndLikeForLike(t *testing.T) {
	bin := ollamatest.Require(t)
	home := t.TempDir()
	tools := filepath.Join(home, ".cache", "fitbench", "tools", "bin")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(tools, "ollama")); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeRepo(t, root, "testorg", "Tiny-Llama-GGUF", tinyLlama, gguf.TypeQ8_0)
	hub := startHub(t, localhub.Options{Root: root})
	closed, err := net.Listen("tcp", "127.0.0.1:0") // an address where no Ollama answers
	if err != nil {
		t.Fatal(err)
	}
	deadHost := closed.Addr().String()
	closed.Close()
	data := t.TempDir()
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "OLLAMA_HOST=" + deadHost, "HF_ENDPOINT=" + hub.URL(),
		"HF_HOME=" + filepath.Join(home, "hf"), "HF_TOKEN=", "FITBENCH_HOME=" + data, "GOCOVERDIR=" + os.Getenv("GOCOVERDIR")}
	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(fitbenchBin, args...)
		cmd.Env = env
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	id := "testorg/Tiny-Llama-GGUF:Q8_0"
	out, errOut, code := run("install", id, "--samples", "3", "--max-tokens", "8")
	t.Logf("install output:\n%s", out)
	if code != 0 {
		t.Fatalf("install exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"fitbench's CPU build of Ollama", "ran on the CPU only", "estimate for these settings",
		"measured by the engine", "context 2048 per sequence", "(harness)"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q", want)
		}
	}
	var shown struct {
		Benchmarks []struct {
			Settings struct {
				Context    int    `json:"context_per_sequence"`
				Engine     string `json:"engine"`
				EnginePath string `json:"engine_path"`
				CacheType  string `json:"cache_type"`
				KVTokens   int    `json:"kv_tokens"`
			} `json:"settings"`
			EngineInfo struct {
				Build   string `json:"build"`
				CPUOnly bool   `json:"cpu_only"`
				Version string `json:"version"`
			} `json:"engine_info"`
			Estimate struct {
				DecodeTokS   float64 `json:"decode_tok_s"`
				TotalBytes   uint64  `json:"total_bytes"`
				WeightsBytes uint64  `json:"weights_bytes"`
				KVBytes      uint64  `json:"kv_bytes"`
				ComputeBytes uint64  `json:"compute_bytes"`
			} `json:"estimate"`
			Comparison *struct {
				MemoryError *float64 `json:"memory_error"`
				DecodeError *float64 `json:"decode_error"`
			} `json:"comparison"`
			EngineTokS        float64        `json:"engine_tok_s"`
			HarnessE2ETokS    float64        `json:"harness_e2e_tok_s"`
			EngineRequestTokS float64        `json:"engine_request_tok_s"`
			StopReasons       map[string]int `json:"stop_reasons"`
		} `json:"benchmarks"`
	}
	sout, _, code := run("show", id, "--json")
	if code != 0 || json.Unmarshal([]byte(sout), &shown) != nil || len(shown.Benchmarks) != 1 {
		t.Fatalf("show --json (exit %d): %s", code, sout)
	}
	b := shown.Benchmarks[0]
	if b.Settings.Context != 2048 || b.Settings.Engine != "ollama" || b.Settings.EnginePath == "" || b.Settings.CacheType != "f16" || b.Settings.KVTokens <= 0 {
		t.Errorf("settings %+v", b.Settings)
	}
	if b.EngineInfo.Build == "" || !b.EngineInfo.CPUOnly || b.EngineInfo.Version == "" {
		t.Errorf("engine info %+v", b.EngineInfo)
	}
	if b.Estimate.DecodeTokS <= 0 || b.Estimate.TotalBytes == 0 || b.Comparison == nil || b.Comparison.MemoryError == nil || b.Comparison.DecodeError == nil {
		t.Fatalf("estimate %+v comparison %+v", b.Estimate, b.Comparison)
	}
	// Like for like: the estimate is for the n_ctx, slots and cache type the
	// engine ran with, so the weights and the KV cache — what the settings
	// decide — equal llama.cpp's own buffers in the load log (printed in MiB
	// with two decimals). Compute is the estimator's own accuracy question
	// (docs/ESTIMATES.md), reported, not asserted here.
	logs, _ := filepath.Glob(filepath.Join(data, "logs", "engines", "ollama-*.log"))
	if len(logs) != 1 {
		t.Fatalf("engine logs %v", logs)
	}
	text, _ := os.ReadFile(logs[0])
	lm := llamalog.Parse(string(text))
	for _, c := range []struct {
		what      string
		est, meas uint64
	}{{"weights", b.Estimate.WeightsBytes, lm.Total(llamalog.Weights)}, {"kv", b.Estimate.KVBytes, lm.Total(llamalog.KV)}} {
		if c.meas == 0 || math.Abs(float64(c.est)-float64(c.meas)) > 0.01*float64(c.meas)+6<<10 {
			t.Errorf("%s: estimate %d bytes, engine %d", c.what, c.est, c.meas)
		}
	}
	t.Logf("compute: estimate %d bytes, engine %d; total memory error %+.1f%%", b.Estimate.ComputeBytes, lm.Total(llamalog.Compute), 100**b.Comparison.MemoryError)
	// The harness's per-request rate is measured around the engine's work, so it
	// cannot exceed the same rate on the engine's clock (a decode-rate comparison
	// would not be like for like: the first token comes from the prompt pass).
	if b.StopReasons["repeat_limit"] == 0 && (b.HarnessE2ETokS <= 0 || b.EngineRequestTokS <= 0 || b.HarnessE2ETokS > b.EngineRequestTokS*(1+1e-3)) {
		t.Errorf("harness %.2f tok/s per request vs the engine's own %.2f", b.HarnessE2ETokS, b.EngineRequestTokS)
	}
	fmt.Fprintf(os.Stderr, "newcomer run: engine decode %.1f tok/s, estimate %.1f (%+.0f%%), memory %+.2f%%\n",
		b.EngineTokS, b.Estimate.DecodeTokS, 100**b.Comparison.DecodeError, 100**b.Comparison.MemoryError)
}
