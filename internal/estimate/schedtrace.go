package estimate

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// schedTrace, when set (FITBENCH_SCHED_DEBUG=1 sends it to stderr), prints
// the scheduler replay's splits and node assignments in the shape of ggml's
// GGML_SCHED_DEBUG=2 dump (ggml-backend.cpp ggml_backend_sched_print_
// assignments), and the allocator's buffer growth, so that a replay can be
// compared with the rig's dump node by node.
var schedTrace io.Writer

func init() {
	if os.Getenv("FITBENCH_SCHED_DEBUG") != "" {
		schedTrace = os.Stderr
	}
}

func traceKind(t *gtensor) string {
	switch {
	case t.dep:
		return "dep"
	case t.weight:
		return fmt.Sprintf("w%d", t.layer)
	case t.ext && t.cacheDst:
		return fmt.Sprintf("set%d", t.layer)
	case t.ext:
		return fmt.Sprintf("c%d", t.layer)
	case t.view != nil:
		return "view"
	case t.input:
		return "inp"
	}
	return "op"
}

func traceSize(n uint64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dM", n>>20)
	}
	return fmt.Sprintf("%dK", n>>10)
}

// traceNodes prints the scheduled graph: split headers with their inputs,
// then every node with its backend and sources.
func traceNodes(w io.Writer, nodes []*gtensor, starts map[int]string) {
	for i, n := range nodes {
		if h, ok := starts[i]; ok {
			fmt.Fprintf(w, "\n## SPLIT %s\n", h)
		}
		var b strings.Builder
		for _, s := range n.srcs {
			fmt.Fprintf(&b, " [%s %s b%d]", traceKind(s), traceSize(s.size), s.backend)
		}
		fmt.Fprintf(w, "node #%3d %-5s %6s b%d%s%s\n", i, traceKind(n), traceSize(n.size), n.backend,
			map[bool]string{true: " inplace", false: ""}[n.inplace], b.String())
	}
}
