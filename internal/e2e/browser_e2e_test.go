package e2e

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/server/browsertest"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// tinyLlama is small enough to load and answer in well under a second per
// sample on a 2-core CPU, big enough to be a real llama with GQA.
var tinyLlama = synth.Spec{Name: "tiny-llama", Layers: 4, Embd: 256, Heads: 8, KVHeads: 2, FF: 512,
	Vocab: 4000, Ctx: 4096, Seed: 11}

// benchSamples keeps the benchmark short on a CPU shared with other jobs; the
// server's default for a request without "samples" comes from
// FITBENCH_BENCH_SAMPLES, which is what the page sends when its field is empty.
const benchSamples = 4

// TestBrowserAddModelInstallAndBenchmark is the product's main path, all real:
// paste a Hub URL in Chromium, Analyze, see the verdict and the repo's
// variants, Download & Benchmark, watch the progress bar reach 100%, and land on
// the workbench with the model tested at a measured speed — which the registry
// (read with `fitbench list --json`) holds too.
func TestBrowserAddModelInstallAndBenchmark(t *testing.T) {
	b := browsertest.New(t)
	ol := ollamatest.Start(t, ollamatest.Options{})
	root := t.TempDir()
	writeRepo(t, root, "testorg", "Tiny-Llama-GGUF", tinyLlama, gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeF16)
	hub := startHub(t, localhub.Options{Root: root})
	srv := startServe(t, hub.URL(),
		"OLLAMA_HOST="+ol.Host,
		"FITBENCH_BENCH_MAX_TOKENS=16",
		"FITBENCH_BENCH_SAMPLES="+strconv.Itoa(benchSamples),
	)

	// A bound on a hung flow, not a speed assertion.
	res := browsertest.AddModelFlow(t, b, srv.URL, "https://huggingface.co/testorg/Tiny-Llama-GGUF", 10*time.Minute)
	t.Logf("flow: verdict %q (%q), variants %v, recommended %v, stages %v, %d progress values, row %q %q %q",
		res.Verdict, res.VerdictText, res.Variants, res.Recommended, res.Stages, len(res.Progress),
		res.ModelID, res.Status, res.MeasuredText)

	// Analysis: a 4 M-parameter model fits any target, GPU or CPU.
	if res.Verdict != "fits" || !strings.Contains(res.VerdictText, "Fits on") {
		t.Errorf("verdict %q %q, want fits", res.Verdict, res.VerdictText)
	}
	got := slices.Sorted(slices.Values(res.Variants))
	if want := []string{"F16", "Q4_0", "Q8_0"}; !slices.Equal(got, want) {
		t.Errorf("variants %v, want %v", res.Variants, want)
	}
	if len(res.Recommended) != 1 {
		t.Errorf("recommended variants %v, want exactly one marked", res.Recommended)
	}

	// Progress: moved through the stages and ended at 100%.
	moved := false
	for _, p := range res.Progress {
		moved = moved || (p > 0 && p < 100)
	}
	if !moved || len(res.Progress) == 0 || res.Progress[len(res.Progress)-1] != 100 {
		t.Errorf("progress values %v: want it to move and end at 100", res.Progress)
	}
	for _, st := range []string{"benchmarking", "complete"} {
		if !slices.Contains(res.Stages, st) {
			t.Errorf("stages %v: %s never shown", res.Stages, st)
		}
	}
	if len(res.Stages) > 0 && res.Stages[len(res.Stages)-1] != "complete" {
		t.Errorf("stages %v, want the last one complete", res.Stages)
	}

	// Workbench: the installed variant, tested, with a measured speed.
	if !strings.HasPrefix(res.ModelID, "testorg/Tiny-Llama-GGUF:") || !slices.Contains(res.Variants, strings.TrimPrefix(res.ModelID, "testorg/Tiny-Llama-GGUF:")) {
		t.Errorf("workbench row %q, want one of the repo's variants", res.ModelID)
	}
	if res.Status != "tested" || !strings.Contains(res.MeasuredText, "tok/s") {
		t.Errorf("workbench row status %q measured %q, want tested with a speed", res.Status, res.MeasuredText)
	}

	// The registry, as the CLI reads it.
	r, err := row(srv.list(t), res.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "tested" || r.ThroughputTokensPerSec <= 0 {
		t.Errorf("registry row: status %q (%s), throughput %v; want tested and > 0", r.Status, r.StatusReason, r.ThroughputTokensPerSec)
	}
	if len(r.Files) != 1 || len(r.Files[0].SHA256) != 64 || r.SizeBytes <= 0 {
		t.Errorf("registry row files %+v size %d: want one verified file", r.Files, r.SizeBytes)
	}

	// The run the page started: the server's default sample count, completed.
	var runs struct {
		Runs []struct {
			Samples    int     `json:"samples"`
			Status     string  `json:"status"`
			OutputTokS float64 `json:"output_tok_s"`
			Engine     string  `json:"engine"`
		} `json:"runs"`
	}
	srv.getJSON(t, "/api/models/"+url.PathEscape(res.ModelID)+"/benchmarks", &runs)
	if len(runs.Runs) != 1 {
		t.Fatalf("benchmark runs %+v, want one", runs.Runs)
	}
	run := runs.Runs[0]
	if run.Samples != benchSamples || run.Status != "completed" || run.Engine != "ollama" || run.OutputTokS != r.ThroughputTokensPerSec {
		t.Errorf("run %+v: want %d samples completed on ollama at the registry's %v tok/s", run, benchSamples, r.ThroughputTokensPerSec)
	}

	// Second pass: another variant, compared with the measured first one, and
	// benchmarked with the sample count typed into the page.
	other := "Q4_0"
	if strings.HasSuffix(res.ModelID, ":Q4_0") {
		other = "F16"
	}
	const pageSamples = 2
	v := installVariant(t, b, srv.URL, "https://huggingface.co/testorg/Tiny-Llama-GGUF", other, pageSamples)
	t.Logf("second variant: badges %v, row %q %q", v.Badges, v.ModelID, v.Status)
	ratioBadge := false
	for _, badge := range v.Badges {
		ratioBadge = ratioBadge || strings.Contains(badge, "× faster") || strings.Contains(badge, "× slower")
	}
	if !ratioBadge || !slices.Contains(v.Badges, "NEW") {
		t.Errorf("comparison badges %v: want a speed ratio against the tested model and NEW for this one", v.Badges)
	}
	wantID := "testorg/Tiny-Llama-GGUF:" + other
	if v.ModelID != wantID || v.Status != "tested" {
		t.Errorf("workbench row %q %q, want %s tested", v.ModelID, v.Status, wantID)
	}
	srv.getJSON(t, "/api/models/"+url.PathEscape(wantID)+"/benchmarks", &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Samples != pageSamples || runs.Runs[0].Status != "completed" {
		t.Errorf("runs of %s: %+v, want one completed run of %d samples (the page's field)", wantID, runs.Runs, pageSamples)
	}
	if rows := srv.list(t); len(rows) != 2 {
		t.Errorf("registry has %d models, want 2: %+v", len(rows), rows)
	}
}
