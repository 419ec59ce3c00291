package browsertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BatchResult is what the batch flow saw.
type BatchResult struct {
	States      []string  // distinct job states shown, in order
	Progress    []float64 // distinct progress values shown, in order
	Done        int       // lines answered, as the page shows at the end
	Failed      int
	Text        string // the progress line as shown at the end
	OutputHref  string // the download links
	ErrorsHref  string
	JobRowState string // the job's state in the page's jobs table
}

// BatchFlow: on the workbench, click the model's "Use in production", land on
// the batch page with the model chosen, upload the file, start the job, and
// watch the progress bar until the job ends; then read the download links.
func BatchFlow(t testing.TB, b *Browser, baseURL, modelID, file string, timeout time.Duration) BatchResult {
	t.Helper()
	ctx := b.Tab(t, timeout)
	var res BatchResult
	fail := func(step string, err error) {
		t.Helper()
		b.Shot(t, ctx, "batch-failed-"+step)
		msg, _ := eval[string](ctx, `(document.getElementById("error")||{}).innerText||""`)
		t.Fatalf("%s: %v (page error box: %q)", step, err, msg)
	}
	link := fmt.Sprintf(`[...document.querySelectorAll("a[data-testid=use-in-production]")].find(a => new URL(a.href).searchParams.get("model") === %q)`, modelID)
	if err := chromedp.Do(ctx, chromedp.Navigate(baseURL+"/workbench.html")); err != nil {
		fail("open workbench", err)
	}
	if err := waitFor(ctx, link); err != nil {
		fail("use-in-production link", err)
	}
	b.Shot(t, ctx, "batch-01-workbench")
	if _, err := eval[bool](ctx, "("+link+").click(), true"); err != nil {
		fail("click use in production", err)
	}
	if err := waitFor(ctx, fmt.Sprintf(`location.pathname === "/batch.html" && document.getElementById("model").value === %q`, modelID)); err != nil {
		fail("batch page with the model chosen", err)
	}
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		chromedp.Click(chromedp.ID("start"))); err != nil {
		fail("upload and start", err)
	}
	b.Shot(t, ctx, "batch-02-started")
	midShot := false
	for {
		type state struct {
			State    string  `json:"state"`
			Progress float64 `json:"progress"`
			Error    string  `json:"error"`
		}
		st, err := eval[state](ctx, `(() => { const p = document.getElementById("progress"), e = document.getElementById("error");
			return { state: document.getElementById("job").hidden ? "" : p.dataset.state, progress: parseFloat(p.dataset.progress) || 0,
				error: e.hidden ? "" : e.innerText }; })()`)
		if ctx.Err() != nil {
			fail("progress", fmt.Errorf("the job did not end; states %v, progress %v", res.States, res.Progress))
		}
		if err == nil {
			if st.Error != "" {
				fail("progress", fmt.Errorf("page error: %s", st.Error))
			}
			if st.State != "" && (len(res.States) == 0 || res.States[len(res.States)-1] != st.State) {
				res.States = append(res.States, st.State)
			}
			if st.State != "" && (len(res.Progress) == 0 || res.Progress[len(res.Progress)-1] != st.Progress) {
				res.Progress = append(res.Progress, st.Progress)
				if st.Progress > 0 && st.Progress < 100 && !midShot {
					b.Shot(t, ctx, "batch-03-progress")
					midShot = true
				}
			}
			if st.State == "completed" || st.State == "failed" || st.State == "cancelled" {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the bar's width transition
	b.Shot(t, ctx, "batch-04-done")
	type end struct {
		Done, Failed        int
		Text, Out, Err, Row string
	}
	rowJS := `(() => { const r = document.querySelector("#jobs tbody tr[data-job-id='" + new URLSearchParams(location.search).get("job") + "']"); return r ? r.dataset.state : ""; })()`
	if err := waitFor(ctx, rowJS+` === "completed" || `+rowJS+` === "failed"`); err != nil {
		fail("jobs table", err)
	}
	e, err := eval[end](ctx, `(() => { const t = document.getElementById("progress-text");
		return { Done: +t.dataset.done, Failed: +t.dataset.failed, Text: t.innerText,
			Out: document.getElementById("download-output").href, Err: document.getElementById("download-errors").href,
			Row: `+rowJS+` }; })()`)
	if err != nil {
		fail("read result", err)
	}
	res.Done, res.Failed, res.Text, res.OutputHref, res.ErrorsHref, res.JobRowState = e.Done, e.Failed, e.Text, e.Out, e.Err, e.Row
	return res
}
