// Command hubheader measures a remote GGUF header read: fitbench's hub.ReadHeaders
// against gguf-parser-go's ParseGGUFFileRemote on the same resolve URL, both
// through localhub with injected latency (a far-away Hub), in the same run.
//
// The model is generated header-only (sparse file): 32+ blocks and a 150k-token
// tokenizer, so the header is several MB, as for Qwen- or Llama-3-class models.
// Only this program imports gguf-parser-go; the fitbench binary does not.
//
//	go run ./tools/benchmarks/hubheader [-n 5] [-latency 50ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	parser "github.com/gpustack/gguf-parser-go"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/localhub"
)

type sample struct {
	wall            time.Duration
	requests, bytes int64
	conns           int64
}

type row struct {
	name string
	runs []sample
}

func main() {
	n := flag.Int("n", 5, "runs per reader (the median is reported)")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency injected on every request")
	vocab := flag.Int("vocab", 150000, "tokenizer size")
	layers := flag.Int("layers", 32, "blocks")
	bw := flag.Int64("bandwidth", 0, "bytes/s per CDN connection (0 = unlimited loopback)")
	flag.Parse()
	if err := run(*n, *latency, *vocab, *layers, *bw); err != nil {
		fmt.Fprintln(os.Stderr, "hubheader:", err)
		os.Exit(1)
	}
}

func run(n int, latency time.Duration, vocab, layers int, bw int64) error {
	root, err := os.MkdirTemp("", "hubheader-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "bench", "Big-GGUF")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	spec := synth.Spec{Arch: "llama", Name: "hubheader", Layers: layers, Embd: 2048, Heads: 16, KVHeads: 4,
		FF: 8192, Vocab: vocab, Ctx: 32768, WeightType: gguf.TypeQ4_0, HeaderOnly: true}
	paths, err := synth.Write(dir, "Big-Q4_0", spec)
	if err != nil {
		return err
	}
	local, err := gguf.ReadFile(paths[0])
	if err != nil {
		return err
	}
	h, err := localhub.Start(localhub.Options{Root: root, Latency: latency, BandwidthPerConn: bw})
	if err != nil {
		return err
	}
	defer h.Close()

	ctx := context.Background()
	l, err := hub.New(hub.Config{Endpoint: h.URL()}).Variants(ctx, "bench/Big-GGUF", "")
	if err != nil {
		return err
	}
	v := l.Variants[0]
	resolveURL := h.URL() + "/bench/Big-GGUF/resolve/" + l.Commit + "/" + v.Files[0].Path
	fmt.Printf("model: %d blocks, %d-token tokenizer, header %.2f MB of a %.2f GB file; latency %v per request; %d B/s per CDN connection (0 = unlimited); %d runs\n",
		layers, vocab, float64(local.DataOffset)/1e6, float64(v.SizeBytes)/1e9, latency, bw, n)

	readers := []struct {
		name string
		fn   func() error
	}{
		{"fitbench hub.ReadHeaders", func() error {
			// A fresh client per run: cold connections, like the baseline.
			s, err := hub.New(hub.Config{Endpoint: h.URL()}).ReadHeaders(ctx, l.Repo, l.Commit, v)
			if err == nil && (s.VocabSize != vocab || s.BlockCount != layers) {
				err = fmt.Errorf("fitbench read vocab %d blocks %d", s.VocabSize, s.BlockCount)
			}
			return err
		}},
		{"gguf-parser-go (default)", func() error {
			gf, err := parser.ParseGGUFFileRemote(ctx, resolveURL)
			if err == nil && len(gf.TensorInfos) != len(local.Tensors) {
				err = fmt.Errorf("gguf-parser-go read %d tensors, want %d", len(gf.TensorInfos), len(local.Tensors))
			}
			return err
		}},
		{"gguf-parser-go SkipLargeMetadata", func() error {
			gf, err := parser.ParseGGUFFileRemote(ctx, resolveURL, parser.SkipLargeMetadata())
			if err == nil && len(gf.TensorInfos) != len(local.Tensors) {
				err = fmt.Errorf("gguf-parser-go read %d tensors, want %d", len(gf.TensorInfos), len(local.Tensors))
			}
			return err
		}},
	}
	// Warm-up: localhub hashes the file once; not measured.
	if err := readers[0].fn(); err != nil {
		return err
	}
	rows := make([]row, len(readers))
	for i := 0; i < n; i++ { // interleaved, so drift hits every reader alike
		for j, r := range readers {
			rows[j].name = r.name
			h.ResetCounts()
			start := time.Now()
			if err := r.fn(); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			wall := time.Since(start)
			c := h.Counts()
			rows[j].runs = append(rows[j].runs, sample{wall: wall,
				requests: c[localhub.CountResolveHead] + c[localhub.CountResolveGet] + c[localhub.CountCDNGet] + c[localhub.CountCDNHead] + c[localhub.CountModelInfo],
				bytes:    c[localhub.CountCDNBytes],
				conns:    c[localhub.CountConnsAPI] + c[localhub.CountConnsCDN]})
		}
	}
	printTable(rows)
	return nil
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 0 {
		return (xs[m-1] + xs[m]) / 2
	}
	return xs[m]
}

func printTable(rows []row) {
	type med struct{ wall, req, bytes, conns float64 }
	meds := make([]med, len(rows))
	for i, r := range rows {
		var w, q, b, c []float64
		for _, s := range r.runs {
			w = append(w, float64(s.wall.Microseconds())/1000)
			q = append(q, float64(s.requests))
			b = append(b, float64(s.bytes))
			c = append(c, float64(s.conns))
		}
		meds[i] = med{median(w), median(q), median(b), median(c)}
	}
	base := meds[0]
	fmt.Printf("\n%-34s %10s %9s %12s %7s %14s %14s\n", "reader", "wall ms", "requests", "MB fetched", "conns", "wall vs ours", "reqs vs ours")
	for i, r := range rows {
		m := meds[i]
		fmt.Printf("%-34s %10.1f %9.0f %12.2f %7.0f %13.2fx %13.2fx\n", r.name, m.wall, m.req, m.bytes/1e6, m.conns,
			m.wall/base.wall, m.req/base.req)
	}
	fmt.Println("\n(ratios > 1 mean the other reader needs more; goal: fewer requests and <= 0.5x the baseline's wall time)")
}
