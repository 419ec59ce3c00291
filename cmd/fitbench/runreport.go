package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// printRun reports one benchmark run: which engine ran it (and that it was the
// CPU build), the settings, each measurement beside the estimate made for
// exactly those settings with the error, the harness's own figures labelled
// as such, how samples ended, and every error with its reason. Speeds are
// tok/s; memory is GB = 10^9 bytes, as everywhere in fitbench's output.
func printRun(w io.Writer, r *registry.BenchmarkRun) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	var info engine.Info
	_ = json.Unmarshal(r.EngineInfo, &info)
	s := registry.RunSettingsOf(r)
	var est registry.RunEstimate
	_ = json.Unmarshal(r.Estimate, &est)
	row("Run", fmt.Sprintf("%d, %s, %d samples at concurrency %d, %.1f s", r.ID, r.Status, r.Samples, r.Concurrency, r.DurationS))
	row("Engine", engineLine(r.Engine, info))
	row("Settings", settingsLine(s))
	c := r.Comparison
	decode := "- (the engine reported no timings)"
	if r.EngineTokS > 0 {
		decode = fmt.Sprintf("%.1f tok/s measured by the engine", r.EngineTokS)
	}
	if est.DecodeTokS > 0 {
		decode += fmt.Sprintf("   estimate for these settings ~%.1f tok/s", est.DecodeTokS)
		if c != nil && c.DecodeError != nil {
			decode += " (" + errWord(*c.DecodeError) + ")"
		}
		if est.CalibratedDecodeTokS > 0 {
			decode += fmt.Sprintf(", calibrated ~%.1f", est.CalibratedDecodeTokS)
		}
	} else if est.Error != "" {
		decode += "   " + est.Error
	}
	row("Decode", decode)
	if r.DecodeSource != "" {
		row("", "source: "+r.DecodeSource)
	}
	mem := "- (not measurable for this engine)"
	if r.MemGPUBytes+r.MemCPUBytes > 0 {
		mem = fmt.Sprintf("%s measured (GPU %s, CPU %s)", size(float64(r.MemGPUBytes+r.MemCPUBytes)), size(float64(r.MemGPUBytes)), size(float64(r.MemCPUBytes)))
	}
	if est.TotalBytes > 0 {
		mem += fmt.Sprintf("   estimate %s (GPU %s, CPU %s)", size(float64(est.TotalBytes)), size(float64(est.GPUBytes)), size(float64(est.CPUBytes)))
		if c != nil && c.MemoryError != nil {
			mem += " (" + errWord(*c.MemoryError) + ")"
		}
	}
	row("Memory", mem)
	perReq := fmt.Sprintf("%.1f tok/s per request end to end", r.HarnessE2ETokS)
	if r.EngineRequestTokS > 0 {
		// Beside it, the same figure on the engine's clock (tokens over its prompt
		// + eval time): the harness's can only be lower. The decode rate above
		// excludes the first token, which the prompt pass produces.
		perReq += fmt.Sprintf(" (engine's own: %.1f over its prompt + eval time)", r.EngineRequestTokS)
	}
	row("Harness", fmt.Sprintf("%s; %.1f output tok/s and %.1f total tok/s over the run's wall time; %.2f requests/s  (measured by fitbench, outside the engine)",
		perReq, r.OutputTokS, r.TotalTokS, r.RequestsPerS))
	row("TTFT", fmt.Sprintf("mean %.0f  p50 %.0f  p95 %.0f  p99 %.0f ms  (harness)", r.TTFTMeanMs, r.TTFTP50Ms, r.TTFTP95Ms, r.TTFTP99Ms))
	row("E2E latency", fmt.Sprintf("mean %.0f  p50 %.0f  p95 %.0f  p99 %.0f ms  (harness)", r.E2EMeanMs, r.E2EP50Ms, r.E2EP95Ms, r.E2EP99Ms))
	row("ITL", fmt.Sprintf("mean %.1f  p50 %.1f  p99 %.1f ms  (harness)", r.ITLMeanMs, r.ITLP50Ms, r.ITLP99Ms))
	row("Tokens", fmt.Sprintf("%d prompt, %d generated", r.PromptTokens, r.OutputTokens))
	row("Samples", fmt.Sprintf("%d completed (%s), %d failed", r.Samples-r.Errors, stopLine(r.StopReasons), r.Errors))
	for _, e := range r.ErrorReasons {
		row("  error", fmt.Sprintf("%d× %s (first at sample %d)", e.Count, e.Reason, e.FirstSample))
	}
	if r.Error != "" {
		row("Failed", r.Error)
	}
	for _, n := range append(info.Notes, est.Notes...) {
		row("note", n)
	}
	return tw.Flush()
}

// engineLine names the engine, its version and path, and says when it was the
// project's CPU build or ran without a GPU.
func engineLine(name string, info engine.Info) string {
	s := name
	if info.Version != "" {
		s += " " + info.Version
	}
	if info.Path != "" {
		s += " (" + info.Path + ")"
	}
	if info.Build != "" {
		s += ", " + info.Build
	} else if info.Binary != "" {
		s += ", " + info.Binary
	}
	if info.CPUOnly {
		s += ", ran on the CPU only"
	}
	return s
}

func settingsLine(s registry.RunSettings) string {
	parts := []string{fmt.Sprintf("context %d per sequence × %d", s.Context, max(s.Parallel, 1)), "cache " + orStr(s.CacheType, "f16")}
	if s.NBatch > 0 || s.NUbatch > 0 {
		parts = append(parts, fmt.Sprintf("batch %d / ubatch %d", s.NBatch, s.NUbatch))
	}
	switch {
	case s.Engine == "vllm":
		parts = append(parts, fmt.Sprintf("--gpu-memory-utilization %g --cpu-offload-gb %g", s.GPUMemoryUtilization, s.CPUOffloadGB))
		if s.TensorParallel > 1 {
			parts = append(parts, fmt.Sprintf("--tensor-parallel-size %d", s.TensorParallel))
		}
	case s.GPULayers < 0:
		parts = append(parts, "GPU layers: the engine's choice")
	default:
		parts = append(parts, fmt.Sprintf("%d GPU layers", s.GPULayers))
	}
	if s.OffloadedLayers >= 0 {
		parts = append(parts, fmt.Sprintf("engine offloaded %d", s.OffloadedLayers))
	}
	if s.Threads > 0 {
		parts = append(parts, fmt.Sprintf("%d threads", s.Threads))
	}
	if s.MaxTokens > 0 {
		parts = append(parts, fmt.Sprintf("≤%d output tokens", s.MaxTokens))
	}
	if s.KVTokens > 0 {
		parts = append(parts, fmt.Sprintf("~%d tokens in the cache while decoding", s.KVTokens))
	}
	return strings.Join(parts, ", ")
}

// errWord says an estimate/measured − 1 error in words.
func errWord(e float64) string {
	switch {
	case e >= 0.005:
		return fmt.Sprintf("estimate %.0f%% high", 100*e)
	case e <= -0.005:
		return fmt.Sprintf("estimate %.0f%% low", -100*e)
	default:
		return "estimate within 0.5%"
	}
}

func stopLine(m map[string]int) string {
	if len(m) == 0 {
		return "no stop reasons recorded"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "ended by " + strings.Join(parts, ", ")
}

// runErrors makes a run with failed samples an error (exit status 1) unless
// the caller allowed them; the reasons were printed with the run.
func runErrors(r *registry.BenchmarkRun, allowed bool) error {
	if r == nil || r.Errors == 0 || allowed {
		return nil
	}
	first := ""
	if len(r.ErrorReasons) > 0 {
		first = ": " + r.ErrorReasons[0].Reason
	}
	return fmt.Errorf("%d of %d benchmark samples failed%s (pass --allow-errors to exit 0 anyway)", r.Errors, r.Samples, first)
}
