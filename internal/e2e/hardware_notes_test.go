package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/localhub"
	"github.com/fitbench/fitbench/internal/server/browsertest"
)

// TestBrowserHardwareNotes (issue 12): the add-model page shows every note
// and warning of the analysis, in the page's phrasing (no command-line flags),
// speaks of unified memory for a Mac, and a GPU name it cannot resolve comes
// back as an error whose hint names the page's fields. All real: `fitbench
// serve`, localhub, Chromium.
func TestBrowserHardwareNotes(t *testing.T) {
	b := browsertest.New(t)
	root := t.TempDir()
	writeRepo(t, root, "testorg", "Tiny-Llama-GGUF", tinyLlama, gguf.TypeQ8_0)
	hub := startHub(t, localhub.Options{Root: root})
	srv := startServe(t, hub.URL())
	const repo = "testorg/Tiny-Llama-GGUF"

	// What the API answers for the same request: the notes the page must show.
	code, body := srv.postJSON(t, "/api/models/analyze", map[string]any{"content": repo, "gpu": "M3 Max 64GB"})
	if code != 200 {
		t.Fatalf("analyze API: %d %v", code, body)
	}
	var want []string
	hw, _ := body["hardware"].(map[string]any)
	for _, list := range []any{hw["page_notes"], body["notes"], body["warnings"]} {
		for _, n := range asStrings(list) {
			want = append(want, n)
		}
	}
	if len(want) == 0 {
		t.Fatalf("no notes in the answer: %v", body)
	}

	ctx := b.Tab(t, 2*time.Minute) // a bound on a hang, not an assertion
	fail := func(step string, err error) {
		t.Helper()
		b.Shot(t, ctx, "failed-hw-"+step)
		t.Fatalf("%s: %v", step, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/add-model.html"), chromedp.WaitVisible(chromedp.ID("content")),
		chromedp.SetValue(chromedp.ID("content"), repo), chromedp.SetValue(chromedp.ID("gpu"), "M3 Max 64GB"),
		chromedp.Click(chromedp.ID("analyze"))); err != nil {
		fail("analyze", err)
	}
	if err := poll(ctx, `!document.getElementById("result").hidden && document.querySelectorAll("#notes li").length > 0`); err != nil {
		fail("notes", err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#notes li")].map(li => li.innerText)`))
	if err != nil {
		fail("read notes", err)
	}
	verdict, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("verdict").innerText`))
	b.Shot(t, ctx, "hw-notes-mac")
	for _, n := range want {
		if !slices.Contains(shown, n) {
			t.Errorf("note %q not on the page; shown: %q", n, shown)
		}
	}
	for _, n := range shown {
		if strings.Contains(n, "--") {
			t.Errorf("page note names a command-line flag: %q", n)
		}
	}
	if !strings.Contains(verdict, "unified memory") || !strings.Contains(verdict, "Apple M3 Max 64GB") {
		t.Errorf("verdict does not speak of unified memory: %q", verdict)
	}
	if !slices.ContainsFunc(shown, func(n string) bool { return strings.Contains(n, "iogpu.wired_limit_mb") }) {
		t.Errorf("no working-set note: %q", shown)
	}

	// Two GPUs: each is listed with its share of the layer split.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("gpu"), "4090,3090"), chromedp.Click(chromedp.ID("analyze"))); err != nil {
		fail("analyze 4090,3090", err)
	}
	if err := poll(ctx, `document.querySelectorAll("#devices li").length === 2`); err != nil {
		fail("devices", err)
	}
	devs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#devices li")].map(li => li.innerText)`))
	b.Shot(t, ctx, "hw-two-gpus")
	if len(devs) != 2 || !strings.HasPrefix(devs[0], "GPU0 RTX 4090: ") || !strings.Contains(devs[0], "50% of the layer split") ||
		!strings.HasPrefix(devs[1], "GPU1 RTX 3090: ") {
		t.Errorf("devices: %q", devs)
	}

	// An ambiguous name: the error box, with the page's advice.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("gpu"), "H100"), chromedp.Click(chromedp.ID("analyze"))); err != nil {
		fail("analyze H100", err)
	}
	if err := poll(ctx, `!document.getElementById("error").hidden`); err != nil {
		fail("error box", err)
	}
	msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("error").innerText`))
	b.Shot(t, ctx, "hw-error-h100")
	if !strings.Contains(msg, "H100 SXM") || !strings.Contains(msg, "GPU field") || strings.Contains(msg, "--") {
		t.Errorf("error box for H100: %q", msg)
	}
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
