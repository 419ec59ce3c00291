package browsertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// FlowResult is what the add-model flow saw, for the caller's own checks
// (the end-to-end test checks Status == "tested" and a measured speed).
type FlowResult struct {
	Verdict      string    // data-verdict of #verdict: fits | offload | too-large
	VerdictText  string    // the banner as shown
	Variants     []string  // quant of each variant button
	Recommended  []string  // variants marked recommended
	Progress     []float64 // distinct progress values seen, in order
	Stages       []string  // distinct statuses seen, in order
	ModelID      string    // data-model-id of the highlighted workbench row
	Status       string    // its data-status
	MeasuredText string    // its "Measured" cell
}

// AddModelFlow: open /add-model.html, paste, Analyze, see the verdict and the
// variants, Download & Benchmark, watch the progress bar move to 100%, and land
// on the workbench. A screenshot is saved after each step. Failures are
// reported with t.Fatalf and a screenshot of the moment.
func AddModelFlow(t testing.TB, b *Browser, baseURL, paste string, timeout time.Duration) FlowResult {
	t.Helper()
	ctx := b.Tab(t, timeout)
	var res FlowResult
	fail := func(step string, err error) {
		t.Helper()
		b.Shot(t, ctx, "failed-"+step)
		msg, _ := eval[string](ctx, `(document.getElementById("error")||{}).innerText||""`)
		t.Fatalf("%s: %v (page error box: %q)", step, err, msg)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+"/add-model.html"),
		chromedp.WaitVisible(chromedp.ID("content"))); err != nil {
		fail("open", err)
	}
	b.Shot(t, ctx, "01-add-model")

	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("content"), paste),
		chromedp.Click(chromedp.ID("analyze"))); err != nil {
		fail("analyze", err)
	}
	if err := waitFor(ctx, `!document.getElementById("result").hidden && document.querySelectorAll("#variants .variant").length > 0
		|| !document.getElementById("error").hidden`); err != nil {
		fail("verdict", err)
	}
	if msg, _ := eval[string](ctx, `document.getElementById("error").hidden ? "" : document.getElementById("error").innerText`); msg != "" {
		fail("verdict", fmt.Errorf("analysis failed in the page: %s", msg))
	}
	res.Verdict, _ = eval[string](ctx, `document.getElementById("verdict").dataset.verdict`)
	res.VerdictText, _ = eval[string](ctx, `document.getElementById("verdict").innerText`)
	res.Variants, _ = eval[[]string](ctx, `[...document.querySelectorAll("#variants .variant")].map(b => b.dataset.quant)`)
	res.Recommended, _ = eval[[]string](ctx, `[...document.querySelectorAll("#variants .variant[data-recommended=true]")].map(b => b.dataset.quant)`)
	if res.Verdict == "" || len(res.Variants) == 0 {
		fail("verdict", fmt.Errorf("verdict %q, variants %v", res.Verdict, res.Variants))
	}
	b.Shot(t, ctx, "02-analysis")

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("install"))); err != nil {
		fail("install", err)
	}
	midShot, doneShot := false, false
	for {
		type state struct {
			Path     string  `json:"path"`
			Status   string  `json:"status"`
			Progress float64 `json:"progress"`
			Error    string  `json:"error"`
		}
		st, err := eval[state](ctx, `(() => { const p = document.getElementById("progress"), e = document.getElementById("error");
			return { path: location.pathname, status: p ? p.dataset.status : "", progress: p ? parseFloat(p.dataset.progress) || 0 : 0,
				error: e && !e.hidden ? e.innerText : "" }; })()`)
		if ctx.Err() != nil {
			fail("progress", fmt.Errorf("no redirect to the workbench; saw statuses %v, progress %v", res.Stages, res.Progress))
		}
		if err != nil { // the page is navigating
			time.Sleep(30 * time.Millisecond)
			continue
		}
		if st.Path == "/workbench.html" {
			break
		}
		if st.Error != "" {
			fail("progress", fmt.Errorf("the page shows an error: %s", st.Error))
		}
		if st.Status != "" && (len(res.Stages) == 0 || res.Stages[len(res.Stages)-1] != st.Status) {
			res.Stages = append(res.Stages, st.Status)
		}
		if st.Status != "" && (len(res.Progress) == 0 || res.Progress[len(res.Progress)-1] != st.Progress) {
			res.Progress = append(res.Progress, st.Progress)
		}
		if !midShot && st.Progress > 0 && st.Progress < 100 {
			midShot = true
			b.Shot(t, ctx, "03-progress")
		}
		if !doneShot && st.Status == "complete" {
			doneShot = true
			b.Shot(t, ctx, "04-complete")
		}
		time.Sleep(40 * time.Millisecond)
	}
	if err := waitFor(ctx, `!!document.querySelector("#models tbody tr.highlight[data-model-id]")`); err != nil {
		fail("workbench", err)
	}
	type row struct {
		ID, Status, Measured string
	}
	r, err := eval[row](ctx, `(() => { const r = document.querySelector("#models tbody tr.highlight");
		return { ID: r.dataset.modelId, Status: r.dataset.status, Measured: r.querySelector("td.measured").innerText }; })()`)
	if err != nil {
		fail("workbench", err)
	}
	res.ModelID, res.Status, res.MeasuredText = r.ID, r.Status, r.Measured
	b.Shot(t, ctx, "05-workbench")
	return res
}

// HorizontalOverflow loads path at phone size (390×844, mobile), optionally
// pastes and analyses first, and returns how many CSS pixels the page is wider
// than the screen (0 = fits). A screenshot is saved as name.
func HorizontalOverflow(t testing.TB, b *Browser, baseURL, path, paste, name string, dark bool) int {
	t.Helper()
	ctx := b.Tab(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait)); err != nil {
		t.Fatal(err)
	}
	if dark {
		if err := Dark(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	if paste != "" {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("content"), paste), chromedp.Click(chromedp.ID("analyze"))); err != nil {
			t.Fatal(err)
		}
		if err := waitFor(ctx, `!document.getElementById("result").hidden`); err != nil {
			t.Fatalf("analysis at phone width: %v", err)
		}
	}
	if path == "/workbench.html" {
		_ = waitFor(ctx, `document.querySelectorAll("#models tbody tr").length > 0 || !document.getElementById("empty").hidden`)
	}
	over, err := eval[int](ctx, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth`)
	if err != nil {
		t.Fatal(err)
	}
	b.Shot(t, ctx, name)
	return over
}

// BackgroundColor returns the page's computed body background, to check that
// dark mode is really applied, and saves a desktop screenshot as name.
func BackgroundColor(t testing.TB, b *Browser, baseURL, path, name string, dark bool) string {
	t.Helper()
	ctx := b.Tab(t, 30*time.Second)
	if dark {
		if err := Dark(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	if path == "/workbench.html" {
		_ = waitFor(ctx, `document.querySelectorAll("#models tbody tr").length > 0 || !document.getElementById("empty").hidden`)
	}
	bg, err := eval[string](ctx, `getComputedStyle(document.body).backgroundColor`)
	if err != nil {
		t.Fatal(err)
	}
	b.Shot(t, ctx, name)
	return bg
}

// CompareOutputs opens the workbench, picks runs a and b in the side-by-side
// pickers, clicks Compare and returns the table's rows as [prompt, A, B].
func CompareOutputs(t testing.TB, b *Browser, baseURL string, a, bRun int64) [][]string {
	t.Helper()
	ctx := b.Tab(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+"/workbench.html")); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, fmt.Sprintf(`document.querySelector('#run-a option[value="%d"]') && document.querySelector('#run-b option[value="%d"]')`, a, bRun)); err != nil {
		t.Fatalf("run pickers: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("run-a"), fmt.Sprint(a)),
		chromedp.SetValue(chromedp.ID("run-b"), fmt.Sprint(bRun)), chromedp.Click(chromedp.ID("compare"))); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `!document.getElementById("compare-table").hidden`); err != nil {
		t.Fatalf("compare table: %v", err)
	}
	rows, err := eval[[][]string](ctx, `[...document.querySelectorAll("#compare-table tbody tr")].map(r => [...r.cells].map(c => c.innerText))`)
	if err != nil {
		t.Fatal(err)
	}
	b.Shot(t, ctx, "compare")
	return rows
}

// DeleteModel clicks Delete on the workbench row of modelID (accepting the
// confirmation) and waits for the row to disappear.
func DeleteModel(t testing.TB, b *Browser, baseURL, modelID string) {
	t.Helper()
	ctx := b.Tab(t, 60*time.Second)
	sel := fmt.Sprintf(`document.querySelector('#models tbody tr[data-model-id=%q]')`, modelID)
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+"/workbench.html")); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "!!"+sel); err != nil {
		t.Fatalf("row of %s: %v", modelID, err)
	}
	if _, err := eval[bool](ctx, `window.confirm = () => true; `+sel+`.querySelector("button.danger").click(); true`); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "!"+sel+` && !document.getElementById("notice").hidden`); err != nil {
		t.Fatalf("row of %s still there: %v", modelID, err)
	}
	b.Shot(t, ctx, "deleted")
}
