package archtest

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
)

// The goal, on every case and both engine paths: weights and KV
// (including recurrent state) within 1%, total within 3%. Compute is reported
// but has no limit of its own (it is inside the total).
const (
	WeightsTolerance = 0.01
	KVTolerance      = 0.01
	TotalTolerance   = 0.03
)

// Quantities compared.
const (
	QPath    = "path"
	QWeights = "weights"
	QKV      = "kv"
	QCompute = "compute"
	QTotal   = "total"
)

// KnownMismatch is a case the estimate is known not to match yet. Case is a
// path.Match pattern over Case.Name() ("gemma3/*/*", "qwen3moe/ctx8192/par2");
// Quantity is one of the Q* names. The estimator side shrinks this list; a
// listed mismatch that has gone away is reported so the entry gets removed.
type KnownMismatch struct {
	Case     string
	Quantity string
	Reason   string
}

// KnownMismatches is the explicit list. Keep each reason specific (what the
// estimate misses and where the engine does it).
//
// State at h10g (2026-12-02): the allocator replay follows ggml-alloc.c's
// view rule and the real graphs' leaf/node order (checked against the engines'
// GGML_SCHED_DEBUG=2 node lists); 46 of 56 cases have the engine's compute
// buffer within 0.01% (the llama.cpp runner prints MiB with 2 decimals).
// Causes not yet traced are said so.
var KnownMismatches = []KnownMismatch{}

// Known returns the entry covering the case's quantity, if any.
func Known(c Case, quantity string) (KnownMismatch, bool) {
	for _, k := range KnownMismatches {
		if ok, _ := path.Match(k.Case, c.Name()); ok && k.Quantity == quantity {
			return k, true
		}
	}
	return KnownMismatch{}, false
}

// HasKnown says whether any quantity of the case is a known mismatch (test
// names carry it so that a run shows it).
func HasKnown(c Case) bool {
	for _, q := range []string{QPath, QWeights, QKV, QTotal} {
		if _, ok := Known(c, q); ok {
			return true
		}
	}
	return false
}

// Estimate is fitbench's figure for a case, summed over devices.
type Estimate struct {
	Path    string // estimate.Report's engine path, mapped to Path values ("" = not reported)
	RawPath string // as the report names it
	Weights uint64
	KV      uint64 // KV + recurrent state
	Compute uint64
	Output  uint64
	Total   uint64 // weights + KV + compute + output (no runtime overhead: a CPU load has none)
}

// Target is the machine the matrix estimates for: this CPU build, no GPU.
var Target = estimate.Target{RAMBytes: 16 << 30, CPUBandwidth: estimate.DefaultCPUBandwidth, CPUThreads: 2}

// EstimateFor runs fitbench's estimate for the case as Ollama would load it.
func EstimateFor(m Model, c Case) (estimate.Report, Estimate) {
	r := estimate.Analyze(estimate.Input{Summary: m.Summary, Engine: estimate.EngineOllama,
		Context: c.Context, Parallel: c.Parallel, Target: Target})
	var e Estimate
	for _, d := range r.Memory.Devices {
		e.Weights += d.WeightsBytes
		e.KV += d.KVBytes
		e.Compute += d.ComputeBytes
		e.Output += d.OutputBytes
	}
	e.Total = e.Weights + e.KV + e.Compute + e.Output
	e.RawPath = reportPath(r)
	e.Path = mapPath(e.RawPath)
	return r, e
}

// reportPath reads Report's engine_path through JSON, so this package builds
// before and after the estimator side adds the field.
func reportPath(r estimate.Report) string {
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	var v struct {
		EnginePath string `json:"engine_path"`
	}
	_ = json.Unmarshal(b, &v)
	return v.EnginePath
}

// mapPath maps the estimator's path names onto Path.
func mapPath(p string) string {
	switch p {
	case "ollama-engine", "ollama":
		return string(PathOllama)
	case "ollama-llamacpp", "llamacpp", "llama.cpp":
		return string(PathLlamaCpp)
	}
	return p
}

// Check is one quantity of one case.
type Check struct {
	Quantity    string
	Engine      uint64
	Ours        uint64
	ErrPct      float64 // (ours − engine)/engine × 100
	LimitPct    float64 // 0 = reported only
	OK          bool    // within the limit (or no limit)
	Known       *KnownMismatch
	Explanation string // for path checks
}

// Comparison is a case's checks.
type Comparison struct {
	Case     Case
	Truth    Truth
	Estimate Estimate
	Checks   []Check
}

// Compare checks fitbench's estimate against the engine's truth.
func Compare(res Result) Comparison {
	_, e := EstimateFor(res.Model, res.Case)
	t := res.Truth
	cmp := Comparison{Case: res.Case, Truth: t, Estimate: e}
	add := func(q string, eng, ours uint64, lim float64) {
		ch := Check{Quantity: q, Engine: eng, Ours: ours, LimitPct: 100 * lim, ErrPct: relErr(ours, eng)}
		ch.OK = lim == 0 || math.Abs(ch.ErrPct) <= 100*lim
		if k, ok := Known(res.Case, q); ok {
			ch.Known = &k
		}
		cmp.Checks = append(cmp.Checks, ch)
	}
	pc := Check{Quantity: QPath, OK: e.Path == string(t.Path)}
	pc.Explanation = fmt.Sprintf("engine ran %s, fitbench predicted %q", t.Path, e.RawPath)
	if e.RawPath == "" {
		pc.Explanation = fmt.Sprintf("engine ran %s, fitbench's report names no engine path", t.Path)
	}
	if k, ok := Known(res.Case, QPath); ok {
		pc.Known = &k
	}
	cmp.Checks = append(cmp.Checks, pc)
	add(QWeights, t.Weights, e.Weights, WeightsTolerance)
	add(QKV, t.KV+t.Recurrent, e.KV, KVTolerance)
	add(QCompute, t.Compute, e.Compute, 0)
	add(QTotal, t.Total, e.Total, TotalTolerance)
	return cmp
}

func relErr(ours, ref uint64) float64 {
	if ref == 0 {
		if ours == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return 100 * (float64(ours) - float64(ref)) / float64(ref)
}

// Failures are the checks outside their limit that no known mismatch covers.
func (c Comparison) Failures() []Check {
	var out []Check
	for _, ch := range c.Checks {
		if !ch.OK && ch.Known == nil {
			out = append(out, ch)
		}
	}
	return out
}

// Stale are known mismatches that now match: their entries should go.
func (c Comparison) Stale() []Check {
	var out []Check
	for _, ch := range c.Checks {
		if ch.OK && ch.Known != nil {
			out = append(out, ch)
		}
	}
	return out
}

// String is one line per check.
func (c Comparison) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (engine path %s", c.Case.Name(), c.Truth.Path)
	if c.Truth.Fallback != "" {
		fmt.Fprintf(&b, ", fell back: %s", c.Truth.Fallback)
	}
	fmt.Fprintf(&b, ", flash attention %s)\n", c.Truth.FlashAttention)
	for _, ch := range c.Checks {
		status := "ok"
		switch {
		case !ch.OK && ch.Known != nil:
			status = "KNOWN MISMATCH: " + ch.Known.Reason
		case !ch.OK:
			status = "FAIL"
		case ch.Known != nil:
			status = "now matches: remove the known-mismatch entry"
		}
		if ch.Quantity == QPath {
			fmt.Fprintf(&b, "  %-8s %s — %s\n", ch.Quantity, ch.Explanation, status)
			continue
		}
		lim := "report only"
		if ch.LimitPct > 0 {
			lim = fmt.Sprintf("limit ±%.0f%%", ch.LimitPct)
		}
		fmt.Fprintf(&b, "  %-8s engine %12d  fitbench %12d  %+8.2f%%  (%s) %s\n", ch.Quantity, ch.Engine, ch.Ours, ch.ErrPct, lim, status)
	}
	return b.String()
}
