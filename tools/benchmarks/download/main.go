// Command download benchmarks internal/download against curl on loopback:
// a generated file served by localhub, fitbench's parallel download (sha256
// verification included) vs `curl -s -o` of the same resolved CDN URL, median
// of N runs; then, with a per-connection bandwidth cap, fitbench's parallel
// download vs a single stream. It reports the process's peak RSS (VmHWM).
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/download"
	"github.com/fitbench/fitbench/internal/localhub"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes of the file for the unthrottled comparison")
	capSize := flag.Int64("cap-size", 256<<20, "bytes of the file for the throttled comparison")
	capRate := flag.Int64("cap", 20_000_000, "per-connection bandwidth cap in bytes/s")
	runs := flag.Int("runs", 3, "runs per measurement (median reported)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.IntVar(&loopbackParts, "parts", 0, "fitbench's parts in the unthrottled comparison (0 = its default)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*size, *capSize, *capRate, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "download bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

var loopbackParts int

func run(size, capSize, capRate int64, runs int) error {
	if _, err := exec.LookPath("curl"); err != nil {
		return fmt.Errorf("curl is needed as the baseline: %w", err)
	}
	tmp, err := os.MkdirTemp("", "fitbench-dlbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "hub")
	big, bigSHA, err := generate(root, "big.gguf", size)
	if err != nil {
		return err
	}
	small, smallSHA, err := generate(root, "capped.gguf", capSize)
	if err != nil {
		return err
	}
	out := filepath.Join(tmp, "out")
	os.MkdirAll(out, 0o755)

	fmt.Printf("# download benchmark (loopback, localhub)\n\n")
	h, err := localhub.Start(localhub.Options{Root: root})
	if err != nil {
		return err
	}
	defer h.Close()
	ours, theirs, err := compare(h, "big.gguf", big, bigSHA, out, runs, loopbackParts)
	if err != nil {
		return err
	}
	fmt.Printf("| %d MiB file, no cap | median of %d | MB/s |\n|---|---|---|\n", size>>20, runs)
	fmt.Printf("| curl -s -o (baseline) | %.2f s | %.0f |\n", theirs.Seconds(), mbps(size, theirs))
	fmt.Printf("| fitbench (parallel + sha256) | %.2f s | %.0f |\n", ours.Seconds(), mbps(size, ours))
	fmt.Printf("| **ratio fitbench/curl throughput** | **%.2f×** | goal ≥ 0.95× |\n\n", theirs.Seconds()/ours.Seconds())

	hc, err := localhub.Start(localhub.Options{Root: root, BandwidthPerConn: capRate})
	if err != nil {
		return err
	}
	defer hc.Close()
	par, single, err := compare(hc, "capped.gguf", small, smallSHA, out, 1, 0)
	if err != nil {
		return err
	}
	own1, _, err := compare(hc, "capped.gguf", small, smallSHA, out, 1, 1)
	if err != nil {
		return err
	}
	fmt.Printf("| %d MiB file, cap %d MB/s per connection | time | MB/s |\n|---|---|---|\n", capSize>>20, capRate/1_000_000)
	fmt.Printf("| single stream: curl (baseline) | %.2f s | %.0f |\n", single.Seconds(), mbps(capSize, single))
	fmt.Printf("| single stream: fitbench Parts=1 | %.2f s | %.0f |\n", own1.Seconds(), mbps(capSize, own1))
	fmt.Printf("| fitbench parallel (default parts) | %.2f s | %.0f |\n", par.Seconds(), mbps(capSize, par))
	fmt.Printf("| **ratio parallel/single stream** | **%.2f×** | goal ≥ 3× |\n\n", single.Seconds()/par.Seconds())
	fmt.Printf("peak RSS of this process (VmHWM): %s — goal < 100 MB\n", vmHWM())
	return nil
}

// compare returns the median time of fitbench's download and of curl's.
// parts 0 = fitbench's default.
func compare(h *localhub.Hub, name string, size int64, sum, out string, runs, parts int) (ours, curl time.Duration, err error) {
	var o, c []time.Duration
	resolve := func(ctx context.Context) (string, error) { return resolveURL(ctx, h, name) }
	if _, err := resolve(context.Background()); err != nil { // warms localhub's sha cache
		return 0, 0, err
	}
	ourRun := func() error {
		dest := filepath.Join(out, name)
		os.Remove(dest)
		defer os.Remove(dest)
		t0 := time.Now()
		err := download.NewManager().Fetch(context.Background(), []download.FileSpec{{
			Dest: dest, Size: size, SHA256: sum, Resolve: resolve}}, download.Options{Parts: parts})
		o = append(o, time.Since(t0))
		return err
	}
	curlRun := func() error {
		dest := filepath.Join(out, name+".curl")
		defer os.Remove(dest)
		u, err := resolve(context.Background()) // resolving is outside curl's timing
		if err != nil {
			return err
		}
		t0 := time.Now()
		if b, err := exec.Command("curl", "-s", "-f", "-o", dest, u).CombinedOutput(); err != nil {
			return fmt.Errorf("curl: %v: %s", err, b)
		}
		c = append(c, time.Since(t0))
		if fi, err := os.Stat(dest); err != nil || fi.Size() != size {
			return fmt.Errorf("curl produced a wrong file: %v", err)
		}
		return nil
	}
	for i := 0; i < runs; i++ {
		// Alternate who goes first, so page-cache and writeback effects of
		// one run do not always land on the same contender.
		steps := []func() error{ourRun, curlRun}
		if parts != 0 {
			steps = steps[:1]
		} else if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return 0, 0, err
			}
		}
	}
	return median(o), median(c), nil
}

func resolveURL(ctx context.Context, h *localhub.Hub, name string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, h.URL()+"/org/bench-GGUF/resolve/main/"+name, nil)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("resolve %s: HTTP %d", name, resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

// generate writes size pseudo-random bytes (incompressible) in 4 MiB blocks.
func generate(root, name string, size int64) (int64, string, error) {
	dir := filepath.Join(root, "org", "bench-GGUF")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, "", err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 4<<20)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		rng.Read(buf[:n])
		f.Write(buf[:n])
		h.Write(buf[:n])
		left -= n
	}
	return size, hex.EncodeToString(h.Sum(nil)), f.Close()
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
