package analyze_test

// The analyzer against real parts: localhub on loopback serving synth models
// (header-only, so a 0.6B-parameter repo costs no disk), the real Hub client,
// GGUF reader and estimator.

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/source"
)

const repo = "testorg/Mid-GGUF"

var mid = synth.Spec{Name: "fitbench-mid", Layers: 8, Embd: 2048, Heads: 16, KVHeads: 4, FF: 5632, Vocab: 32000,
	Ctx: 8192, Seed: 2, HeaderOnly: true}

var quants = map[string]gguf.GGMLType{"F16": gguf.TypeF16, "Q8_0": gguf.TypeQ8_0, "Q4_0": gguf.TypeQ4_0}

// machine is a fixed CPU-only host so results do not depend on the runner.
func machine(context.Context) (hardware.Hardware, error) {
	return hardware.Hardware{RAMTotalBytes: 32e9, RAMAvailBytes: 28e9, CPUModel: "test CPU", CPUThreads: 8}, nil
}

type env struct {
	root string
	hub  *localhub.Hub
	cli  *hub.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "testorg", "Mid-GGUF")
	os.MkdirAll(dir, 0o755)
	for q, ty := range quants {
		s := mid
		s.WeightType = ty
		if _, err := synth.Write(dir, "Mid-"+q, s); err != nil {
			t.Fatal(err)
		}
	}
	h, err := localhub.Start(localhub.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &env{root: root, hub: h, cli: hub.New(hub.Config{Endpoint: h.URL(), MaxRetries: -1})}
}

func (e *env) analyzer(installed []estimate.Installed) *analyze.Analyzer {
	return analyze.New(analyze.Deps{Hub: e.cli, Hardware: machine,
		Installed: func(context.Context) ([]estimate.Installed, error) { return installed, nil }})
}

var rtx4080 = hardware.Override{GPU: "RTX 4080"}

func within(a, b, pct float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= pct/100*math.Max(math.Abs(a), math.Abs(b))
}

// TestScaledVariantsMatchTheirHeaders: the selected variant's figures come
// from its header; the others are scaled from it and land within a few % of
// what their own headers give.
func TestScaledVariantsMatchTheirHeaders(t *testing.T) {
	e := setup(t)
	a := e.analyzer(nil)
	ctx := context.Background()
	for _, hw := range []hardware.Override{rtx4080, {CPUOnly: true}} {
		res, err := a.Analyze(ctx, analyze.Request{Input: repo + ":Q8_0", Hardware: hw})
		if err != nil {
			t.Fatal(err)
		}
		if res.Source != estimate.SourceHeader || res.Quantization != "Q8_0" || res.InstallID != repo+":Q8_0" ||
			res.Commit == "" || res.Model.Layers != mid.Layers || res.Model.ParamCount == 0 {
			t.Fatalf("result: %+v", res)
		}
		if len(res.Variants) != 3 {
			t.Fatalf("variants: %+v", res.Variants)
		}
		for _, v := range res.Variants {
			if v.Quant == "Q8_0" {
				if v.Basis != "header" || !v.Selected || v.TotalGB != res.Memory.TotalGB {
					t.Errorf("selected variant: %+v", v)
				}
				continue
			}
			if v.Basis != "scaled" || v.Selected {
				t.Errorf("%s: basis %q selected %v", v.Quant, v.Basis, v.Selected)
			}
			own, err := a.Analyze(ctx, analyze.Request{Input: repo, Quant: v.Quant, Hardware: hw})
			if err != nil {
				t.Fatal(err)
			}
			if own.Quantization != v.Quant {
				t.Fatalf("explicit %s analysed %s", v.Quant, own.Quantization)
			}
			t.Logf("%s %v: scaled total %.2f GB, %.1f tok/s; own header %.2f GB, %.1f tok/s", v.Quant, hw, v.TotalGB,
				v.EstimatedThroughput, own.Memory.TotalGB, own.Performance.EstimatedThroughput)
			if !within(v.TotalGB, own.Memory.TotalGB, 3) {
				t.Errorf("%s total: scaled %.3f GB vs its header %.3f GB", v.Quant, v.TotalGB, own.Memory.TotalGB)
			}
			if !within(v.EstimatedThroughput, own.Performance.EstimatedThroughput, 5) {
				t.Errorf("%s speed: scaled %.1f vs its header %.1f", v.Quant, v.EstimatedThroughput, own.Performance.EstimatedThroughput)
			}
			if v.GPULayers != own.GPULayers || v.QualityStars != own.Performance.QualityStars || v.Verdict != own.Verdict {
				t.Errorf("%s: scaled %d layers %d stars %s; own %d layers %d stars %s", v.Quant, v.GPULayers,
					v.QualityStars, v.Verdict, own.GPULayers, own.Performance.QualityStars, own.Verdict)
			}
		}
		// The recommendation names a listed variant and marks it.
		rec := res.Recommendation
		if rec.BestFull == nil {
			t.Fatalf("a 0.6B model fits: no recommendation %+v", rec)
		}
		marked := ""
		for _, v := range res.Variants {
			if v.Recommended == "full" {
				marked = v.Quant
			}
		}
		if marked == "" || marked != rec.BestFull.Quantization {
			t.Errorf("recommended %q, marked %q", rec.BestFull.Quantization, marked)
		}
	}
}

// TestHeaderReadIsCheap: only the selected variant's header is read.
func TestHeaderReadIsCheap(t *testing.T) {
	e := setup(t)
	if _, err := e.analyzer(nil).Analyze(context.Background(), analyze.Request{Input: repo, Hardware: rtx4080}); err != nil {
		t.Fatal(err)
	}
	c := e.hub.Counts()
	if c[localhub.CountCDNGet] > 3 || c[localhub.CountCDNBytes] > 16<<20 {
		t.Errorf("analysis read %d CDN GETs, %d bytes; want one header's worth", c[localhub.CountCDNGet], c[localhub.CountCDNBytes])
	}
}

func TestComparisonUsesInstalled(t *testing.T) {
	e := setup(t)
	installed := []estimate.Installed{{Name: "fast-model", Throughput: 1e6}, {Name: "slow-model", Throughput: 0.01},
		{Name: "never-benchmarked", Throughput: 0}}
	res, err := e.analyzer(installed).Analyze(context.Background(), analyze.Request{Input: repo + ":Q4_0", Hardware: rtx4080})
	if err != nil {
		t.Fatal(err)
	}
	cmp := res.Comparison
	if cmp.TotalModels != 3 || len(cmp.Comparisons) != 3 {
		t.Fatalf("comparison: %+v", cmp)
	}
	byName := map[string]estimate.ComparisonRow{}
	for _, r := range cmp.Comparisons {
		byName[r.ModelName] = r
	}
	if r := byName["fast-model"]; r.Faster || !strings.Contains(r.Label, "slower") {
		t.Errorf("vs fast-model: %+v", r)
	}
	if r := byName["slow-model"]; !r.Faster || !strings.Contains(r.Label, "faster") {
		t.Errorf("vs slow-model: %+v", r)
	}
	if r := byName["never-benchmarked"]; r.Label != "NEW" {
		t.Errorf("vs never-benchmarked: %+v", r)
	}
	// Nothing installed: an empty comparison, not an error.
	res, err = e.analyzer(nil).Analyze(context.Background(), analyze.Request{Input: repo, Hardware: rtx4080})
	if err != nil || res.Comparison.TotalModels != 0 {
		t.Errorf("empty comparison: %+v %v", res.Comparison, err)
	}
}

const page = `testorg/Mid-GGUF
Model size
0.6B params
Architecture
llama

| Filename | Quant type | File Size | Split | Description |
| -------- | ---------- | --------- | ----- | ----------- |
| Mid-F16.gguf | F16 | 1.24GB | false | Full weights. |
| Mid-Q8_0.gguf | Q8_0 | 0.66GB | false | High quality. |
| Mid-Q4_0.gguf | Q4_0 | 0.35GB | false | Small. |
`

func TestHeuristicWhenTheHubIsOffline(t *testing.T) {
	e := setup(t)
	for name, cli := range map[string]*hub.Client{
		"offline":     hub.New(hub.Config{Endpoint: e.hub.URL(), Offline: true}),
		"unreachable": hub.New(hub.Config{Endpoint: "http://127.0.0.1:1", MaxRetries: -1}),
	} {
		t.Run(name, func(t *testing.T) {
			a := analyze.New(analyze.Deps{Hub: cli, Hardware: machine})
			res, err := a.Analyze(context.Background(), analyze.Request{Input: page, Hardware: rtx4080})
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != estimate.SourceHeuristic || res.ModelID != repo || res.Quantization != "Q8_0" || len(res.Variants) != 3 {
				t.Errorf("heuristic result: source %q model %q quant %q variants %d", res.Source, res.ModelID, res.Quantization, len(res.Variants))
			}
			for _, v := range res.Variants {
				if v.Basis != "heuristic" {
					t.Errorf("%s basis %q", v.Quant, v.Basis)
				}
			}
			if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "heuristic") {
				t.Errorf("not labelled: %v", res.Warnings)
			}
			if res.Memory.TotalGB <= 0 || res.Performance.EstimatedThroughput <= 0 {
				t.Errorf("figures: %+v %+v", res.Memory, res.Performance)
			}
			// Without page hints there is nothing to estimate from: the
			// Hub's typed error comes back.
			_, err = a.Analyze(context.Background(), analyze.Request{Input: repo, Hardware: rtx4080})
			var he *hub.Error
			if !errors.As(err, &he) || (he.Kind != hub.Offline && he.Kind != hub.Unreachable) {
				t.Errorf("bare repo offline: %v", err)
			}
		})
	}
}

func TestTypedErrors(t *testing.T) {
	e := setup(t)
	gated := filepath.Join(e.root, "testorg", "Gated-GGUF")
	os.MkdirAll(gated, 0o755)
	s := mid
	s.WeightType = gguf.TypeQ4_0
	synth.Write(gated, "Gated-Q4_0", s)
	os.WriteFile(filepath.Join(gated, ".gated"), []byte("auto"), 0o644)
	junk := filepath.Join(t.TempDir(), "junk.gguf")
	os.WriteFile(junk, []byte("definitely not a GGUF file, only text"), 0o644)

	a := e.analyzer(nil)
	ctx := context.Background()
	check := func(input string, ok func(error) bool) {
		t.Helper()
		res, err := a.Analyze(ctx, analyze.Request{Input: input, Hardware: rtx4080})
		if err == nil || res != nil || !ok(err) {
			t.Errorf("Analyze(%.40q) = %v, %v", input, res, err)
		}
	}
	isSource := func(err error) bool { var se *source.Error; return errors.As(err, &se) && se.Msg != "" }
	isKind := func(k hub.Kind) func(error) bool { return func(err error) bool { return hub.IsKind(err, k) } }
	check("", isSource)
	check("https://github.com/ggerganov/llama.cpp", isSource)
	check("https://huggingface.co/datasets/testorg/Mid-GGUF", isSource)
	check("testorg/Missing-GGUF", isKind(hub.RepoNotFound))
	check("testorg/Gated-GGUF", isKind(hub.Gated))
	check(repo+":IQ1_S", func(err error) bool { return strings.Contains(err.Error(), "IQ1_S") })
	check(junk, func(err error) bool { return errors.Is(err, gguf.ErrNotGGUF) || errors.Is(err, gguf.ErrTruncated) })
	// A gated repo with a token localhub accepts works.
	h2, err := localhub.Start(localhub.Options{Root: e.root, Tokens: []string{"hf_test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	a2 := analyze.New(analyze.Deps{Hub: hub.New(hub.Config{Endpoint: h2.URL(), Token: "hf_test"}), Hardware: machine})
	if res, err := a2.Analyze(ctx, analyze.Request{Input: "testorg/Gated-GGUF", Hardware: rtx4080}); err != nil || res.Quantization != "Q4_0" {
		t.Errorf("gated with token: %v %v", res, err)
	}
}

// TestVariantMatchesAnalyze: the install pipeline's per-variant estimate equals
// the analysis of that variant.
func TestVariantMatchesAnalyze(t *testing.T) {
	e := setup(t)
	a := e.analyzer(nil)
	ctx := context.Background()
	l, err := e.cli.Variants(ctx, repo, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.Find("Q4_0", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Variant(ctx, l, *v, analyze.Request{Hardware: rtx4080})
	if err != nil {
		t.Fatal(err)
	}
	want, err := a.Analyze(ctx, analyze.Request{Input: repo + ":Q4_0", Hardware: rtx4080})
	if err != nil {
		t.Fatal(err)
	}
	if got.InstallID != want.InstallID || got.Memory.TotalGB != want.Memory.TotalGB ||
		got.Performance.EstimatedThroughput != want.Performance.EstimatedThroughput || got.GPULayers != want.GPULayers {
		t.Errorf("Variant %+v\nAnalyze %+v", got.Report, want.Report)
	}
}
