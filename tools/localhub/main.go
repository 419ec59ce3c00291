// Command localhub serves a directory of model repos (ROOT/{org}/{repo}/…) with the
// Hugging Face Hub's response shapes, for tests, benchmarks and offline demos:
//
//	go run ./tools/localhub -root DIR -addr 127.0.0.1:0
//	HF_ENDPOINT=<printed URL> fitbench analyze org/repo
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fitbench/fitbench/internal/localhub"
)

func main() {
	var opts localhub.Options
	var tokens string
	flag.StringVar(&opts.Root, "root", "", "directory holding {org}/{repo}/files (required)")
	flag.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "API listen address")
	flag.StringVar(&opts.CDNAddr, "cdn-addr", "127.0.0.1:0", "CDN listen address")
	flag.IntVar(&opts.PageSize, "page-size", 1000, "tree listing page size")
	flag.DurationVar(&opts.Latency, "latency", 0, "latency added to every request")
	flag.Int64Var(&opts.BandwidthPerConn, "bandwidth", 0, "bytes/s per CDN connection (0 = unlimited)")
	flag.DurationVar(&opts.URLTTL, "url-ttl", time.Hour, "lifetime of signed CDN URLs")
	flag.StringVar(&tokens, "tokens", "", "comma-separated tokens accepted for gated/private repos")
	flag.Parse()
	if opts.Root == "" {
		fmt.Fprintln(os.Stderr, "localhub: -root is required")
		os.Exit(2)
	}
	if tokens != "" {
		opts.Tokens = strings.Split(tokens, ",")
	}
	h, err := localhub.Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("HF_ENDPOINT=%s\nCDN=%s\n", h.URL(), h.CDNURL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Shutdown(sctx)
}
