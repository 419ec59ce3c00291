package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/install"
)

// progressPrinter renders install events: a redrawn bar on a terminal, plain
// lines (at most one per second per status) otherwise, so logs stay readable.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	last     time.Time
	lastStat string
	pending  *install.Event // the latest event not printed yet (plain mode)
	ended    bool           // the last line printed ends with a newline (tty mode)
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressPrinter{w: w, tty: tty}
}

func (p *progressPrinter) print(ev install.Event) {
	changed := ev.Status != p.lastStat
	if changed && p.pending != nil && !p.tty {
		// Show where the previous phase ended (e.g. downloading 100%).
		fmt.Fprintln(p.w, describeEvent(*p.pending))
	}
	p.pending = nil
	if !changed && !ev.Final() && time.Since(p.last) < time.Second && !p.tty {
		p.pending = &ev
		return
	}
	if !changed && p.tty && time.Since(p.last) < 100*time.Millisecond && !ev.Final() {
		p.pending = &ev // drawn by finish if nothing newer comes
		return
	}
	p.last = time.Now()
	line := describeEvent(ev)
	if p.tty {
		if changed && p.lastStat != "" {
			fmt.Fprintln(p.w)
		}
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.ended = false
		if ev.Final() {
			fmt.Fprintln(p.w)
			p.ended = true
		}
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.lastStat = ev.Status
}

// finish ends a bar left on its line (a terminal bar is redrawn with \r and
// only a final event ends it), and prints a pending plain line.
func (p *progressPrinter) finish() {
	if p.tty {
		if p.pending != nil {
			fmt.Fprintf(p.w, "\r\033[K%s", describeEvent(*p.pending))
			p.ended = false
		}
		if p.lastStat != "" && !p.ended {
			fmt.Fprintln(p.w)
		}
	} else if p.pending != nil {
		fmt.Fprintln(p.w, describeEvent(*p.pending))
	}
	p.pending, p.lastStat, p.ended = nil, "", true
}

func describeEvent(ev install.Event) string {
	switch ev.Status {
	case install.StatusDownloading, install.StatusVerifying:
		s := fmt.Sprintf("%-12s %s %5.1f%%  %s / %s", ev.Status, bar(ev.Progress, 24), ev.Progress, size(float64(ev.Bytes)), size(float64(ev.Total)))
		if ev.Speed > 0 && ev.Status == install.StatusDownloading {
			s += fmt.Sprintf("  %s/s", size(ev.Speed))
			if ev.ETA > 0 {
				s += fmt.Sprintf("  ETA %s", (time.Duration(ev.ETA) * time.Second).String())
			}
		}
		return s
	case install.StatusBenchmarking:
		if ev.Samples > 0 {
			return fmt.Sprintf("%-12s %s sample %d of %d", ev.Status, bar(ev.Progress, 24), ev.Sample, ev.Samples)
		}
		return fmt.Sprintf("%-12s %s", ev.Status, ev.Message)
	case install.StatusFailed:
		return "failed: " + ev.Error
	default:
		return fmt.Sprintf("%-12s %s", ev.Status, ev.Message)
	}
}

func bar(pct float64, width int) string {
	n := int(pct / 100 * float64(width))
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
