package browsertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// WorkbenchRow opens the workbench, returns the innerText of modelID's row,
// then clicks its History button and returns the history table's text.
func WorkbenchRow(t testing.TB, b *Browser, baseURL, modelID string) (row, history string) {
	t.Helper()
	ctx := b.Tab(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+"/workbench.html")); err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`document.querySelector('#models tbody tr[data-model-id=%q]')`, modelID)
	if err := waitFor(ctx, sel+` && `+sel+`.querySelector("td.measured")`); err != nil {
		t.Fatalf("workbench row %s: %v", modelID, err)
	}
	row, err := eval[string](ctx, sel+`.innerText`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eval[bool](ctx, sel+`.querySelector("button").click() || true`); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `!document.getElementById("history").hidden && document.querySelector("#runs tbody tr[data-run-id]")`); err != nil {
		t.Fatalf("history: %v", err)
	}
	history, err = eval[string](ctx, `document.getElementById("runs").innerText`)
	if err != nil {
		t.Fatal(err)
	}
	b.Shot(t, ctx, "workbench-history")
	return row, history
}
