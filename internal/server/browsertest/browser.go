// Package browsertest drives the fitbench pages in a real Chromium with
// chromedp. It is a library, not a _test file, so the server's own test (with
// stand-in dependencies) and the end-to-end test (with localhub and the real
// engine) run exactly the same steps: AddModelFlow, PhoneLayout, DarkMode.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with a fresh profile, and where screenshots go.
type Browser struct {
	ctx       context.Context
	Artifacts string
}

// FindChromium returns the browser binary: $FITBENCH_CHROMIUM, /usr/bin/chromium,
// or chromium / chromium-browser / google-chrome on PATH.
func FindChromium() string {
	if p := os.Getenv("FITBENCH_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts Chromium for the test. Without a browser the test is skipped with
// a message, or fails when FITBENCH_REQUIRE_BROWSER=1 (CI installs Debian's
// chromium, so there a missing browser is a setup error, not a reason to skip).
// Screenshots go to $FITBENCH_ARTIFACTS/<test name>, else to a temp dir.
func New(t testing.TB) *Browser {
	t.Helper()
	if testing.Short() && os.Getenv("FITBENCH_REQUIRE_BROWSER") != "1" {
		t.Skip("-short (make test-short): browser test not run")
	}
	path := FindChromium()
	if path == "" {
		msg := "no Chromium found (install Debian's chromium, or set FITBENCH_CHROMIUM)"
		if os.Getenv("FITBENCH_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + "; FITBENCH_REQUIRE_BROWSER=1 makes this a failure")
		}
		t.Skip(msg + "; set FITBENCH_REQUIRE_BROWSER=1 to make this a failure")
	}
	art := os.Getenv("FITBENCH_ARTIFACTS")
	if art == "" {
		art = t.TempDir()
	}
	art = filepath.Join(art, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout
		t.Fatalf("start %s: %v", path, err)
	}
	t.Logf("browser %s; screenshots in %s", path, art)
	return &Browser{ctx: ctx, Artifacts: art}
}

// Tab opens a new tab; the returned context is bounded by timeout.
func (b *Browser) Tab(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	ctx, cancelT := context.WithTimeout(tab, timeout)
	t.Cleanup(cancelT)
	return ctx
}

// Shot saves a full-page PNG screenshot as <Artifacts>/<name>.png.
func (b *Browser) Shot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.Artifacts, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("save screenshot: %v", err)
	}
}

// Dark makes the tab report prefers-color-scheme: dark.
func Dark(ctx context.Context) error {
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	return err
}

// eval runs a script and decodes its result.
func eval[T any](ctx context.Context, js string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// waitFor polls a boolean script every 50 ms until it is true or ctx ends.
// Navigation in between is fine (the script is run again in the new page).
func waitFor(ctx context.Context, js string) error {
	for {
		ok, err := eval[bool](ctx, "!!("+js+")")
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
