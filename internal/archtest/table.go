package archtest

import (
	"fmt"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf/synth"
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

// PresetTable lists the matrix's models: shapes and the real model each follows.
func PresetTable() string {
	var b strings.Builder
	b.WriteString("| preset | arch | layers | embd | heads/KV | head | FF | experts (used) × width | window | vocab | weights | follows |\n")
	b.WriteString("|---|---|---:|---:|---|---:|---:|---|---:|---:|---|---|\n")
	for _, name := range MatrixPresets {
		for _, p := range synth.Presets {
			if p.Name != name {
				continue
			}
			s := p.Spec
			hd := s.HeadDim
			if hd == 0 {
				hd = s.Embd / s.Heads
			}
			heads := fmt.Sprintf("%d/%d", s.Heads, s.KVHeads)
			if s.Arch == "deepseek2" {
				heads = fmt.Sprintf("%d/MLA (q LoRA %d, kv LoRA %d, rope %d, v %d)", s.Heads, s.QLoRARank, s.KVLoRARank, s.RopeDim, s.VHeadDim)
			}
			exp := ""
			if s.Experts > 0 {
				exp = fmt.Sprintf("%d (%d) × %d", s.Experts, s.ExpertsUsed, s.ExpertFF)
				if s.ExpertType != 0 && s.ExpertType != s.WeightType {
					exp += " " + s.ExpertType.String()
				}
			}
			win := ""
			if s.SlidingWindow > 0 {
				win = fmt.Sprint(s.SlidingWindow)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %d | %d | %s | %s | %d | %s | %s |\n",
				p.Name, s.Arch, s.Layers, s.Embd, heads, hd, s.FF, exp, win, s.Vocab, s.WeightType, p.Source)
		}
	}
	return b.String()
}
