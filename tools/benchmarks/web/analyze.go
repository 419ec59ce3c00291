package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

const repoURL = "https://huggingface.co/testorg/Tiny-Llama-GGUF"

// pageResult holds the analyze timings of both clients.
type pageResult struct {
	api, browser []time.Duration
	hubRequests  int64 // Hub requests (API + CDN) one analysis makes
}

// analyzeBench times an analysis through the API (baseline) and from a click
// in the page to the rendered verdict, against localhub with c.latency.
func analyzeBench(ctx context.Context, c config, chromium, dir string) (*pageResult, error) {
	root := filepath.Join(dir, "hub")
	repo := filepath.Join(root, "testorg", "Tiny-Llama-GGUF")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return nil, err
	}
	spec := synth.Spec{Name: "tiny-llama", Layers: 4, Embd: 256, Heads: 8, KVHeads: 2, FF: 512, Vocab: 4000, Ctx: 4096, Seed: 11}
	for _, ty := range []gguf.GGMLType{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeF16} {
		spec.WeightType = ty
		if _, err := synth.Write(repo, "Tiny-Llama-"+ty.String(), spec); err != nil {
			return nil, err
		}
	}
	hub, err := localhub.Start(localhub.Options{Root: root, Latency: c.latency})
	if err != nil {
		return nil, err
	}
	defer hub.Close()
	srv, err := startServe(ctx, c.bin, filepath.Join(dir, "home"), hub.URL())
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	res := &pageResult{}
	// Warm-up (connections, the first hardware detection), then one counted run.
	if _, err := analyzeAPI(ctx, srv.URL); err != nil {
		return nil, err
	}
	hub.ResetCounts()
	if _, err := analyzeAPI(ctx, srv.URL); err != nil {
		return nil, err
	}
	cnt := hub.Counts()
	res.hubRequests = cnt[localhub.CountModelInfo] + cnt[localhub.CountTree] + cnt[localhub.CountRefs] +
		cnt[localhub.CountResolveHead] + cnt[localhub.CountResolveGet] + cnt[localhub.CountCDNGet] + cnt[localhub.CountCDNHead]
	for i := 0; i < c.runs; i++ {
		d, err := analyzeAPI(ctx, srv.URL)
		if err != nil {
			return nil, err
		}
		res.api = append(res.api, d)
	}
	res.browser, err = analyzeBrowser(ctx, chromium, srv.URL, c.runs)
	return res, err
}

// analyzeAPI is one POST /api/models/analyze from Go, timed to the last byte.
func analyzeAPI(ctx context.Context, base string) (time.Duration, error) {
	body, _ := json.Marshal(map[string]string{"content": repoURL})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/models/analyze", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("analyze: %s: %s", resp.Status, b)
	}
	return d, nil
}

// clickToVerdict runs in the page: it clicks Analyze and resolves with the
// milliseconds until the verdict and the variants are in the DOM and a frame
// has been produced after that (requestAnimationFrame, then a task).
const clickToVerdict = `new Promise((resolve, reject) => {
  const $ = (id) => document.getElementById(id);
  $("content").value = %q;
  const done = () => !$("result").hidden && $("verdict").dataset.verdict && document.querySelectorAll("#variants .variant").length > 0;
  const obs = new MutationObserver(() => {
    if (!$("error").hidden) { obs.disconnect(); reject(new Error($("error").innerText)); return; }
    if (done()) { obs.disconnect(); requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0)); }
  });
  obs.observe(document.body, { subtree: true, childList: true, attributes: true });
  const t0 = performance.now();
  $("analyze").click();
})`

// analyzeBrowser loads the page fresh for each run (plus one warm-up) and
// measures click → rendered verdict inside the page.
func analyzeBrowser(ctx context.Context, chromium, base string, runs int) ([]time.Duration, error) {
	actx, cancelA := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	defer cancelA()
	tab, cancelT := chromedp.NewContext(actx)
	defer cancelT()
	tctx, cancel := context.WithTimeout(tab, 5*time.Minute)
	defer cancel()
	var out []time.Duration
	for i := -1; i < runs; i++ {
		if err := chromedp.Do(tctx, chromedp.Navigate(base+"/add-model.html"), chromedp.WaitVisible(chromedp.ID("content"))); err != nil {
			return nil, fmt.Errorf("open the page: %w", err)
		}
		ms, err := chromedp.Run(tctx, chromedp.Evaluate[float64](fmt.Sprintf(clickToVerdict, repoURL), chromedp.EvalAwaitPromise))
		if err != nil {
			return nil, fmt.Errorf("browser run %d: %w", i+1, err)
		}
		if i >= 0 {
			out = append(out, time.Duration(ms*float64(time.Millisecond)))
		}
	}
	return out, nil
}
