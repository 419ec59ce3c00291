package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/registry"
	"github.com/fitbench/fitbench/internal/server/browsertest"
)

// TestBrowserAddModelFlow runs the add-model flow in real Chromium against the
// real server and registry, with the test-double analyzer and installer
// (the end-to-end version with localhub and Ollama reuses browsertest).
func TestBrowserAddModelFlow(t *testing.T) {
	b := browsertest.New(t)
	e := newEnv(t, 80*time.Millisecond, Config{})
	res := browsertest.AddModelFlow(t, b, e.http.URL, "https://huggingface.co/org/Model-8B-GGUF", 90*time.Second)
	t.Logf("flow: %+v", res)
	if res.Verdict != "fits" || !strings.Contains(res.VerdictText, "Fits on Test GPU") {
		t.Errorf("verdict %q %q, want fits on the test GPU", res.Verdict, res.VerdictText)
	}
	if strings.Join(res.Variants, ",") != "Q2_K,Q4_K_M,Q5_K_M,Q8_0,F16" {
		t.Errorf("variants %v", res.Variants)
	}
	if len(res.Recommended) != 1 || res.Recommended[0] != "Q4_K_M" {
		t.Errorf("recommended %v, want [Q4_K_M]", res.Recommended)
	}
	moved := false
	for _, p := range res.Progress {
		if p > 0 && p < 100 {
			moved = true
		}
	}
	if !moved || len(res.Progress) == 0 || res.Progress[len(res.Progress)-1] != 100 {
		t.Errorf("progress %v: want it to move and end at 100", res.Progress)
	}
	if !contains(res.Stages, "downloading") || !contains(res.Stages, "benchmarking") || res.Stages[len(res.Stages)-1] != "complete" {
		t.Errorf("stages %v", res.Stages)
	}
	if res.ModelID != "org/Model-8B-GGUF:Q4_K_M" || res.Status != "tested" || !strings.Contains(res.MeasuredText, "40") {
		t.Errorf("workbench row %q status %q measured %q, want the model tested at 40 tok/s", res.ModelID, res.Status, res.MeasuredText)
	}
}

// TestBrowserLayout checks phone width (no horizontal overflow) and dark mode.
func TestBrowserLayout(t *testing.T) {
	b := browsertest.New(t)
	e := newEnv(t, 0, Config{})
	seed(t, e)
	for _, c := range []struct {
		path, paste, name string
		dark              bool
	}{
		{"/add-model.html", "org/Model-8B-GGUF", "phone-add-model", false},
		{"/workbench.html", "", "phone-workbench", false},
		{"/add-model.html", "org/Model-8B-GGUF", "phone-add-model-dark", true},
	} {
		if over := browsertest.HorizontalOverflow(t, b, e.http.URL, c.path, c.paste, c.name, c.dark); over > 0 {
			t.Errorf("%s at 390 px is %d px too wide", c.path, over)
		}
	}
	light := browsertest.BackgroundColor(t, b, e.http.URL, "/workbench.html", "desktop-workbench-light", false)
	dark := browsertest.BackgroundColor(t, b, e.http.URL, "/workbench.html", "desktop-workbench-dark", true)
	if light == dark || dark != "rgb(18, 20, 24)" {
		t.Errorf("background light %q dark %q: dark mode not applied", light, dark)
	}
}

// TestBrowserWorkbench compares two runs' outputs side by side and deletes a
// model from the workbench.
func TestBrowserWorkbench(t *testing.T) {
	b := browsertest.New(t)
	e := newEnv(t, 0, Config{})
	seed(t, e)
	ctx := context.Background()
	run := &registry.BenchmarkRun{ModelID: "org/spare-GGUF:Q8_0", Engine: "ollama", Samples: 2}
	if _, err := e.db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddOutputs(ctx, run.ID, []registry.Output{
		{SampleIndex: 0, PromptID: "p1", Prompt: "Say hi", Output: "hello <b>friend</b>"},
		{SampleIndex: 1, PromptID: "p2", Prompt: "Count", Output: "one two three"}}); err != nil {
		t.Fatal(err)
	}
	rows := browsertest.CompareOutputs(t, b, e.http.URL, 1, run.ID)
	want := [][]string{{"Say hi", "hi there", "hello <b>friend</b>"}, {"Count", "1 2 3", "one two three"}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("side by side %q, want %q (outputs shown as text, not markup)", rows, want)
	}
	browsertest.DeleteModel(t, b, e.http.URL, "org/spare-GGUF:Q8_0")
	if _, err := e.db.GetModel(ctx, "org/spare-GGUF:Q8_0"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("after delete in the page: %v, want not found", err)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
