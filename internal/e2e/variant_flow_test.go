package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fitbench/fitbench/internal/server/browsertest"
)

// variantFlow is what the second pass through the add-model page saw.
type variantFlow struct {
	Badges  []string // the comparison table's badges ("1.3× faster", "NEW")
	ModelID string   // the highlighted workbench row
	Status  string
}

// installVariant drives the parts of the add-model page AddModelFlow leaves
// out: choose another variant of the repo, type a sample count in the page's
// Samples field, and Download & Benchmark it; then wait for the workbench.
func installVariant(t *testing.T, b *browsertest.Browser, baseURL, paste, quant string, samples int) variantFlow {
	t.Helper()
	ctx := b.Tab(t, 10*time.Minute) // a bound on a hang, not an assertion
	fail := func(step string, err error) {
		t.Helper()
		b.Shot(t, ctx, "failed-variant-"+step)
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("error")||{}).innerText||""`))
		t.Fatalf("%s: %v (page error box: %q)", step, err, msg)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+"/add-model.html"), chromedp.WaitVisible(chromedp.ID("content")),
		chromedp.SetValue(chromedp.ID("content"), paste), chromedp.Click(chromedp.ID("analyze"))); err != nil {
		fail("analyze", err)
	}
	if err := poll(ctx, `!document.getElementById("result").hidden && document.querySelectorAll("#variants .variant").length > 0`); err != nil {
		fail("verdict", err)
	}
	pick := fmt.Sprintf(`document.querySelector('#variants .variant[data-quant=%q]')`, quant)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](pick+`.click(); true`)); err != nil {
		fail("choose "+quant, err)
	}
	if err := poll(ctx, pick+`.getAttribute("aria-pressed") === "true" && !document.getElementById("analyze").disabled`); err != nil {
		fail("analysis of "+quant, err)
	}
	var res variantFlow
	badges, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#comparison tbody .badge")].map(b => b.innerText)`))
	if err != nil {
		fail("comparison", err)
	}
	res.Badges = badges
	b.Shot(t, ctx, "06-variant-"+quant)
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("samples"), fmt.Sprint(samples)), chromedp.Click(chromedp.ID("install"))); err != nil {
		fail("install", err)
	}
	if err := poll(ctx, `location.pathname === "/workbench.html" && document.querySelector("#models tbody tr.highlight[data-model-id]")
		|| !document.getElementById("error").hidden`); err != nil {
		fail("workbench", err)
	}
	type row struct{ ID, Status string }
	r, err := chromedp.Run(ctx, chromedp.Evaluate[row](`(() => { const r = document.querySelector("#models tbody tr.highlight");
		return r ? { ID: r.dataset.modelId, Status: r.dataset.status } : { ID: "", Status: "" }; })()`))
	if err != nil || r.ID == "" {
		fail("workbench", fmt.Errorf("no highlighted row (%v)", err))
	}
	res.ModelID, res.Status = r.ID, r.Status
	b.Shot(t, ctx, "07-workbench-two-models")
	return res
}

// poll evaluates a boolean script every 50 ms until it is true or ctx ends
// (errors while the page navigates are retried).
func poll(ctx context.Context, js string) error {
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error %v)", js, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
