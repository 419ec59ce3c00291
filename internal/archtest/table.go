package archtest

import (
	"fmt"
	"strings"
)

// TruthTable renders what the engine printed per case as a Markdown table
// (docs/ENGINE_TRUTH.md): exact bytes, one row per case.
func TruthTable(results []Result) string {
	var b strings.Builder
	b.WriteString("| case | arch | engine path | fallback | flash attn | weights | KV | recurrent | compute | output | total | per-layer cache (Ollama engine) |\n")
	b.WriteString("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		t := r.Truth
		layers := ""
		if len(t.LayerCache) > 0 {
			layers = compactLayers(t.LayerCache)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %d | %d | %d | %d | %d | %s |\n",
			r.Case.Name(), r.Model.Spec.Arch, t.Path, t.Fallback, t.FlashAttention,
			t.Weights, t.KV, t.Recurrent, t.Compute, t.Output, t.Total, layers)
	}
	return b.String()
}

// compactLayers writes runs of equal values as v×n.
func compactLayers(xs []uint64) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j] == xs[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%d×%d", xs[i], j-i))
		} else {
			parts = append(parts, fmt.Sprint(xs[i]))
		}
		i = j
	}
	return strings.Join(parts, " ")
}

func fmtGB(x float64) string { return fmt.Sprintf("%.2f GB", x) }
