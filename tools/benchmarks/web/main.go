// Command web measures the web app as a user and as an API client meet it,
// against the real `fitbench serve` binary (built by this program):
//
//  1. Time from clicking Analyze to the rendered verdict and variants in
//     headless Chromium, with tools/localhub adding 50 ms to every Hub request.
//     Baseline in the same run: the same analysis as one API call from Go, so
//     the ratio is what the page adds on top of the analysis itself.
//
//  2. GET /api/models with 1,000 registered models under 20 concurrent
//     clients: p50/p99 latency and requests/s. Baseline: GET /healthz under
//     the same load (routing, security checks and logging, no database).
//
//     go run ./tools/benchmarks/web [-runs 9] [-latency 50ms] [-models 1000] [-clients 20] [-duration 5s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/fitbench/fitbench/internal/server/browsertest"
)

type config struct {
	runs     int
	latency  time.Duration
	models   int
	clients  int
	duration time.Duration
	bin      string
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 9, "browser runs (the median is reported)")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "latency localhub adds to every request")
	flag.IntVar(&c.models, "models", 1000, "models registered for the API load")
	flag.IntVar(&c.clients, "clients", 20, "concurrent API clients")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "load duration per endpoint")
	flag.StringVar(&c.bin, "fitbench", "", "fitbench binary to test (default: go build ./cmd/fitbench)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scratch, err := os.MkdirTemp("", "fitbench-webbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	if c.bin == "" {
		c.bin = filepath.Join(scratch, "fitbench")
		build := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "github.com/fitbench/fitbench/cmd/fitbench")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building fitbench: %w", err)
		}
	}
	chromium := browsertest.FindChromium()
	if chromium == "" {
		return errors.New("no Chromium found (install Debian's chromium, or set FITBENCH_CHROMIUM)")
	}

	fmt.Printf("fitbench web benchmark — %d browser runs, Hub latency %v; %d models, %d clients, %v per endpoint\n\n",
		c.runs, c.latency, c.models, c.clients, c.duration)
	page, err := analyzeBench(ctx, c, chromium, filepath.Join(scratch, "analyze"))
	if err != nil {
		return fmt.Errorf("analyze benchmark: %w", err)
	}
	load, err := loadBench(ctx, c, filepath.Join(scratch, "load"))
	if err != nil {
		return fmt.Errorf("API load benchmark: %w", err)
	}
	printPage(page, c)
	printLoad(load, c)
	return nil
}
