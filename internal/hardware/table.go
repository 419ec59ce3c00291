// Package hardware detects GPUs, RAM and CPU, knows GPUs' memory, bandwidth and
// FLOPS (gpus.tsv), and resolves user overrides into an estimate.Target.
package hardware

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Known is one GPU product variant from the table, with one memory size.
type Known struct {
	Name         string  `json:"name"` // display name: "RTX 4060 Ti 16GB", "Apple M3 Max 64GB"
	Vendor       string  `json:"vendor"`
	VRAMGiB      float64 `json:"vram_gib"` // for Apple: the Mac's unified memory
	BandwidthGBs float64 `json:"bandwidth_gb_s"`
	FP16TFLOPS   float64 `json:"fp16_tflops"`
	BF16TFLOPS   float64 `json:"bf16_tflops,omitempty"`
	Unified      bool    `json:"unified_memory,omitempty"`
	Source       string  `json:"source"`
}

//go:embed gpus.tsv
var tableTSV string

// row is one line of gpus.tsv: one product, possibly several memory options.
type row struct {
	names   []string
	aliases [][]string // normalised tokens of each name
	vendor  string
	mem     []float64
	bw      float64
	fp16    float64
	bf16    float64
	unified bool
	source  string
}

var (
	rows = mustParseTable(tableTSV)
	// distinguishing holds every word that appears in some name ("ti", "super",
	// "laptop", "sxm", "max"…): an input word from this set that a candidate
	// lacks rules the candidate out, so "RTX 3080 Ti" never becomes an RTX 3080.
	distinguishing = wordsOf(rows)
	// family counts the memory sizes each display name comes in, so names get
	// a size suffix exactly when the size tells variants apart.
	family = familySizes(rows)
)

func mustParseTable(s string) []row {
	var out []row
	for i, line := range strings.Split(s, "\n") {
		if line = strings.TrimRight(line, "\r"); line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			panic(fmt.Sprintf("gpus.tsv line %d: %d fields, want 8", i+1, len(f)))
		}
		r := row{vendor: f[0], unified: f[6] == "1", source: f[7]}
		for _, n := range strings.Split(f[1], "|") {
			r.names = append(r.names, strings.TrimSpace(n))
			r.aliases = append(r.aliases, parseName(n).tokens)
		}
		for _, m := range strings.Split(f[2], ",") {
			r.mem = append(r.mem, mustFloat(m, i))
		}
		r.bw, r.fp16, r.bf16 = mustFloat(f[3], i), mustFloat(f[4], i), mustFloat(f[5], i)
		out = append(out, r)
	}
	return out
}

func mustFloat(s string, line int) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 {
		panic(fmt.Sprintf("gpus.tsv line %d: bad number %q", line+1, s))
	}
	return v
}

func wordsOf(rs []row) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		for _, a := range r.aliases {
			for _, t := range a {
				m[t] = true
			}
		}
	}
	return m
}

func familySizes(rs []row) map[string]int {
	sizes := map[string]map[float64]bool{}
	for _, r := range rs {
		if sizes[r.names[0]] == nil {
			sizes[r.names[0]] = map[float64]bool{}
		}
		for _, m := range r.mem {
			sizes[r.names[0]][m] = true
		}
	}
	out := map[string]int{}
	for k, v := range sizes {
		out[k] = len(v)
	}
	return out
}

// known is r with memory option mem.
func (r row) known(mem float64) Known {
	name := r.product()
	if family[r.names[0]] > 1 {
		name += " " + strconv.FormatFloat(mem, 'f', -1, 64) + "GB"
	}
	return Known{Name: name, Vendor: r.vendor, VRAMGiB: mem, BandwidthGBs: r.bw, FP16TFLOPS: r.fp16,
		BF16TFLOPS: r.bf16, Unified: r.unified, Source: r.source}
}

// product is the display name without a memory size ("Apple M4 Max").
func (r row) product() string {
	if r.vendor == "apple" {
		return "Apple " + r.names[0]
	}
	return r.names[0]
}

// Table returns every known GPU variant, one entry per memory size.
func Table() []Known {
	var out []Known
	for _, r := range rows {
		for _, m := range r.mem {
			out = append(out, r.known(m))
		}
	}
	return out
}

// Lookup is Match without a memory size, reporting only success.
func Lookup(name string) (Known, bool) {
	k, err := Match(name, 0)
	return k, err == nil
}

// memTolerance: a memory size matches a variant within 10% — nvidia-smi
// reports what the driver can hand out (24564 MiB on a 24 GB card, 95830 MiB
// on the 94 GB H100 NVL), rocm-smi likewise.
const memTolerance = 0.10

// maxNameLen bounds a GPU name: the longest driver name is under 70 bytes.
const maxNameLen = 200

// Match finds the table entry for a GPU name as a person types it ("4090",
// "3080 Ti", "RTX 4060 Ti 16GB", "M3 Max 64GB") or as nvidia-smi / rocm-smi
// print it ("NVIDIA GeForce RTX 3060 Laptop GPU", "NVIDIA A100-SXM4-80GB",
// "Navi 31 [Radeon RX 7900 XT/7900 XTX]"). memGiB (0 = unknown) is the
// memory from --vram or detection; a size in the name wins over it.
//
// The most specific name wins: every word of a table name must appear in the
// input, and no distinguishing word of the input may be missing from it. When
// the name still fits several products, or sizes with different figures, and
// the memory does not decide, the answer is a *MatchError listing them.
func Match(input string, memGiB float64) (Known, error) {
	if !(memGiB > 0) || math.IsInf(memGiB, 0) { // NaN, negative, ±Inf: no memory given
		memGiB = 0
	}
	if len(input) > maxNameLen {
		return Known{}, &MatchError{Input: input[:40] + "…", Kind: MatchUnknown}
	}
	var cands []cand
	var alts []string
	for _, alt := range alternatives(input) {
		q := parseName(alt)
		if q.mem > 0 {
			memGiB = q.mem
		}
		cands = append(cands, bestRows(q.tokens)...)
		alts = append(alts, alt)
	}
	cands = dedupe(cands)
	if len(cands) == 0 {
		return Known{}, &MatchError{Input: input, Kind: MatchUnknown, Near: near(input)}
	}
	// Every (row, memory option) pair that the memory allows.
	var opts []Known
	for _, c := range cands {
		for _, m := range c.r.mem {
			if memGiB <= 0 || math.Abs(memGiB-m) <= memTolerance*m {
				opts = append(opts, c.r.known(m))
			}
		}
	}
	if len(opts) == 0 {
		// The memory fits no variant (--vram 20 on an RTX 3080): keep the
		// product if it is one, with the figures of the nearest size.
		if products(cands) == 1 {
			best, bestD := Known{}, math.Inf(1)
			for _, c := range cands {
				for _, m := range c.r.mem {
					if d := math.Abs(m - memGiB); d < bestD {
						best, bestD = c.r.known(m), d
					}
				}
			}
			return best, nil
		}
		opts = nil
		for _, c := range cands {
			for _, m := range c.r.mem {
				opts = append(opts, c.r.known(m))
			}
		}
		return Known{}, &MatchError{Input: input, Kind: MatchAmbiguous, Candidates: opts, Near: names(opts)}
	}
	if len(opts) == 1 {
		return opts[0], nil
	}
	kind := MatchAmbiguous
	if products(cands) == 1 {
		kind = MatchNeedsMemory
	}
	return Known{}, &MatchError{Input: input, Kind: kind, Candidates: opts, Near: names(opts)}
}

type cand struct {
	r     row
	score int
}

// bestRows returns the rows whose best alias matches tokens with the highest score.
func bestRows(tokens []string) []cand {
	var out []cand
	best := 0
	for _, r := range rows {
		s := 0
		for _, a := range r.aliases {
			if matches(a, tokens) {
				s = max(s, len(a))
			}
		}
		switch {
		case s == 0 || s < best:
		case s > best:
			best, out = s, []cand{{r, s}}
		default:
			out = append(out, cand{r, s})
		}
	}
	return out
}

// matches: every alias word is in the input, and every input word the alias
// lacks is noise (not a word any table name uses, and no digits).
func matches(alias, input []string) bool {
	if len(alias) == 0 {
		return false
	}
	for _, w := range alias {
		if !slices.Contains(input, w) {
			return false
		}
	}
	for _, w := range input {
		if !slices.Contains(alias, w) && !noise(w) {
			return false
		}
	}
	return true
}

func noise(w string) bool {
	if strings.HasPrefix(w, "hbm") || strings.HasPrefix(w, "gddr") {
		return !distinguishing[w]
	}
	return !distinguishing[w] && strings.IndexAny(w, "0123456789") < 0
}

func dedupe(cs []cand) []cand {
	var out []cand
	for _, c := range cs {
		if !slices.ContainsFunc(out, func(o cand) bool { return o.r.names[0] == c.r.names[0] && slices.Equal(o.r.mem, c.r.mem) }) {
			out = append(out, c)
		}
	}
	return out
}

// products counts distinct display names among the candidates.
func products(cs []cand) int {
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.r.names[0]] = true
	}
	return len(seen)
}

func names(ks []Known) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		if !slices.Contains(out, k.Name) {
			out = append(out, k.Name)
		}
	}
	return out
}

// near lists up to six products that share the most with input: equal
// numbers count most, then numbers with the same leading digits, then words.
func near(input string) []string {
	var q []string
	for _, alt := range alternatives(input) {
		q = append(q, parseName(alt).tokens...)
	}
	type scored struct {
		name  string
		score int
	}
	var all []scored
	for _, r := range rows {
		best := 0
		for _, a := range r.aliases {
			s := 0
			for _, w := range a {
				for _, x := range q {
					switch {
					case w == x && isNum(w):
						s += 4
					case w == x:
						s += 2
					case isNum(w) && isNum(x) && len(w) == len(x) && len(w) >= 2 && w[:2] == x[:2]:
						s++
					}
				}
			}
			best = max(best, s)
		}
		if best > 0 {
			all = append(all, scored{r.product(), best})
		}
	}
	slices.SortStableFunc(all, func(a, b scored) int { return b.score - a.score })
	var out []string
	for _, s := range all {
		if len(out) == 6 {
			break
		}
		if !slices.Contains(out, s.name) {
			out = append(out, s.name)
		}
	}
	return out
}

func isNum(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
