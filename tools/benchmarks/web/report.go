package main

import (
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

// quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i, 1), len(sorted))-1]
}

func sortedCopy(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func printPage(p *pageResult, c config) {
	api, br := sortedCopy(p.api), sortedCopy(p.browser)
	base := quantile(api, 0.5)
	fmt.Printf("Analyze → verdict, localhub +%v per request (%d Hub requests per analysis), %d runs each\n", c.latency, p.hubRequests, c.runs)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\tmedian\tmin\tmax\tvs API\t")
	fmt.Fprintf(tw, "API POST /api/models/analyze (Go, baseline)\t%s\t%s\t%s\t%s\t\n", ms(base), ms(api[0]), ms(api[len(api)-1]), "1.00×")
	fmt.Fprintf(tw, "Chromium: click Analyze → verdict rendered\t%s\t%s\t%s\t%s\t\n", ms(quantile(br, 0.5)), ms(br[0]), ms(br[len(br)-1]), ratio(quantile(br, 0.5), base))
	tw.Flush()
	fmt.Println()
}

func printLoad(rows []loadRow, c config) {
	fmt.Printf("API under load: %d registered models, %d concurrent clients, %v per endpoint\n", c.models, c.clients, c.duration)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\trequests\terrors\treq/s\tp50\tp99\tp50 vs healthz\tp99 vs healthz\tbody\t")
	var b50, b99 time.Duration
	for i, r := range rows {
		s := sortedCopy(r.latencies)
		p50, p99 := quantile(s, 0.5), quantile(s, 0.99)
		if i == 0 {
			b50, b99 = p50, p99
		}
		body := "—"
		if r.bodyBytes > 0 {
			body = fmt.Sprintf("%.0f KB", float64(r.bodyBytes)/1000)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", r.name, len(s), r.errors,
			float64(len(s))/r.elapsed.Seconds(), ms(p50), ms(p99), ratio(p50, b50), ratio(p99, b99), body)
	}
	tw.Flush()
}
