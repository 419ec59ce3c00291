package main

import (
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/install"
)

// A bar redrawn on a terminal ends its line when the work ends, even though a
// benchmark's own events never include a final one.
func TestProgressBarEndsItsLine(t *testing.T) {
	for _, tty := range []bool{true, false} {
		var b strings.Builder
		p := &progressPrinter{w: &b, tty: tty}
		for i := 1; i <= 3; i++ {
			p.print(install.Event{Status: install.StatusBenchmarking, Sample: i, Samples: 3, Progress: float64(i) * 100 / 3})
		}
		p.finish()
		out := b.String()
		if !strings.HasSuffix(out, "\n") || !strings.Contains(out, "sample 3 of 3") {
			t.Errorf("tty=%v: %q", tty, out)
		}
		p.finish() // a second finish adds nothing
		if b.String() != out {
			t.Errorf("tty=%v: finish twice: %q", tty, b.String())
		}
	}
}
