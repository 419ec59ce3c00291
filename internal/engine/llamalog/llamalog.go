// Package llamalog reads the memory lines llama.cpp prints while it loads a model
// (as llama-server and Ollama's runner print them) and Ollama's own per-device
// summary lines. These lines are the ground truth fitbench's estimates are checked
// against, and what a benchmark records as the measured memory of a load.
package llamalog

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// Kind names one sort of allocation.
type Kind string

// The kinds of allocation llama.cpp reports.
const (
	Weights Kind = "weights" // load_tensors: <dev> model buffer size
	KV      Kind = "kv"      // llama_kv_cache: <dev> KV buffer size (all caches summed)
	Compute Kind = "compute" // llama_context: <dev> compute buffer size
	Output  Kind = "output"  // llama_context: <dev> output buffer size (logits, host)
	// Total is Ollama's "total memory" line (device "").
	Total Kind = "total"
)

// Entry is one (device, kind) allocation. Device is the llama.cpp buffer name
// ("CPU", "CPU_Mapped", "CUDA0", "CUDA_Host", "ROCm0", …) or Ollama's device name.
type Entry struct {
	Device string `json:"device"`
	Kind   Kind   `json:"kind"`
	Bytes  uint64 `json:"bytes"`
}

// Memory is what a load log says about memory. OffloadedLayers/TotalLayers come
// from "offloaded N/M layers to GPU" (-1 when the log has no such line, as for a
// CPU-only build).
type Memory struct {
	Entries         []Entry `json:"entries"`
	OffloadedLayers int     `json:"offloaded_layers"`
	TotalLayers     int     `json:"total_layers"`
	// FlashAttention is true/false when the log says which was used, nil otherwise.
	FlashAttention *bool `json:"flash_attention,omitempty"`
	// NCtx and NUbatch are llama_context's n_ctx and n_ubatch (0 when absent).
	NCtx    int `json:"n_ctx,omitempty"`
	NUbatch int `json:"n_ubatch,omitempty"`
	NBatch  int `json:"n_batch,omitempty"`
	// NSeqMax is llama_context's n_seq_max (parallel sequences; 0 when absent).
	NSeqMax int `json:"n_seq_max,omitempty"`
	// CacheTypeK/V are the KV cache's element types from llama_kv_cache's size
	// line ("K (f16): … V (f16)"), as llama-kv-cache.cpp prints them.
	CacheTypeK string `json:"cache_type_k,omitempty"`
	CacheTypeV string `json:"cache_type_v,omitempty"`
	// Runner is which of Ollama's two engines ran the model, from its
	// "starting runner" line (llm/server.go adds --ollama-engine for its own Go
	// engine): RunnerOllama or RunnerLlamaCpp; "" for logs without that line.
	Runner string `json:"runner,omitempty"`
}

// Ollama's two engine paths.
const (
	RunnerOllama   = "ollama engine"
	RunnerLlamaCpp = "llama.cpp runner"
)

var (
	reOffload = regexp.MustCompile(`offloaded (\d+)/(\d+) layers to GPU`)
	// "<prefix>: <DEV> model buffer size = 308.23 MiB" and its KV/compute/output kin.
	reBuffer = regexp.MustCompile(`^\s*(load_tensors|llama_kv_cache\w*|llama_context|llama_new_context_with_model)\s*:\s*(\S+)\s+(model|KV|compute|output)\s+buffer size\s*=\s*([0-9.]+)\s*(MiB|KiB|GiB|B)\b`)
	// Ollama: msg="model weights" device=CPU size="6.0 MiB"
	reOllama = regexp.MustCompile(`msg="(model weights|kv cache|compute graph|total memory)"(?:\s+device=("[^"]*"|\S+))?\s+size="([0-9.]+)\s*(B|KiB|MiB|GiB|TiB)"`)
	reNCtx   = regexp.MustCompile(`llama_context:\s+n_ctx\s*=\s*(\d+)`)
	reUbatch = regexp.MustCompile(`llama_context:\s+n_ubatch\s*=\s*(\d+)`)
	reBatch  = regexp.MustCompile(`llama_context:\s+n_batch\s*=\s*(\d+)`)
	reSeqMax = regexp.MustCompile(`llama_context:\s+n_seq_max\s*=\s*(\d+)`)
	// llama_kv_cache: size = 4.00 MiB (2048 cells, 4 layers, 1/1 seqs), K (f16): 2.00 MiB, V (f16): 2.00 MiB
	reKVType = regexp.MustCompile(`llama_kv_cache\w*:\s+size\s*=.*K \((\w+)\):.*V \((\w+)\):`)
)

type key struct {
	dev  string
	kind Kind
}

// Parse reads a whole log. For every (device, kind) the last value wins: a
// runner that reloads (e.g. Ollama retrying with fewer GPU layers) prints the
// lines again, and the last load is the one that stayed.
func Parse(text string) Memory {
	m := Memory{OffloadedLayers: -1, TotalLayers: -1}
	vals := map[key]uint64{}
	var order []key
	set := func(k key, v uint64) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if g := reOffload.FindStringSubmatch(line); g != nil {
			m.OffloadedLayers, _ = strconv.Atoi(g[1])
			m.TotalLayers, _ = strconv.Atoi(g[2])
			continue
		}
		if g := reBuffer.FindStringSubmatch(line); g != nil {
			set(key{g[2], bufferKind(g[3])}, toBytes(g[4], g[5]))
			continue
		}
		if g := reOllama.FindStringSubmatch(line); g != nil {
			set(key{strings.Trim(g[2], `"`), ollamaKind(g[1])}, toBytes(g[3], g[4]))
			continue
		}
		if g := reNCtx.FindStringSubmatch(line); g != nil {
			m.NCtx, _ = strconv.Atoi(g[1])
		}
		if g := reUbatch.FindStringSubmatch(line); g != nil {
			m.NUbatch, _ = strconv.Atoi(g[1])
		}
		if g := reBatch.FindStringSubmatch(line); g != nil {
			m.NBatch, _ = strconv.Atoi(g[1])
		}
		if g := reSeqMax.FindStringSubmatch(line); g != nil {
			m.NSeqMax, _ = strconv.Atoi(g[1])
		}
		if g := reKVType.FindStringSubmatch(line); g != nil {
			m.CacheTypeK, m.CacheTypeV = g[1], g[2]
		}
		if strings.Contains(line, `msg="starting runner"`) {
			m.Runner = RunnerLlamaCpp
			if strings.Contains(line, "--ollama-engine") {
				m.Runner = RunnerOllama
			}
		}
		switch {
		case strings.Contains(line, "Flash Attention was auto, set to enabled"):
			m.FlashAttention = ptr(true)
		case strings.Contains(line, "Flash Attention was auto, set to disabled"):
			m.FlashAttention = ptr(false)
		case strings.Contains(line, "flash_attn    = enabled"), strings.Contains(line, "flash_attn    = 1"):
			m.FlashAttention = ptr(true)
		case strings.Contains(line, "flash_attn    = disabled"), strings.Contains(line, "flash_attn    = 0"):
			m.FlashAttention = ptr(false)
		}
	}
	for _, k := range order {
		m.Entries = append(m.Entries, Entry{Device: k.dev, Kind: k.kind, Bytes: vals[k]})
	}
	return m
}

func ptr(b bool) *bool { return &b }

func bufferKind(s string) Kind {
	switch s {
	case "model":
		return Weights
	case "KV":
		return KV
	case "compute":
		return Compute
	default:
		return Output
	}
}

func ollamaKind(s string) Kind {
	switch s {
	case "model weights":
		return Weights
	case "kv cache":
		return KV
	case "compute graph":
		return Compute
	default:
		return Total
	}
}

// toBytes converts a printed size. llama.cpp prints MiB with two decimals, so a
// parsed value is exact to ±5 KiB; Ollama prints one decimal.
func toBytes(num, unit string) uint64 {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0
	}
	mult := 1.0
	switch unit {
	case "KiB":
		mult = 1 << 10
	case "MiB":
		mult = 1 << 20
	case "GiB":
		mult = 1 << 30
	case "TiB":
		mult = 1 << 40
	}
	return uint64(f*mult + 0.5)
}

// Total sums the bytes of one kind over all devices.
func (m Memory) Total(kind Kind) uint64 {
	var t uint64
	for _, e := range m.Entries {
		if e.Kind == kind {
			t += e.Bytes
		}
	}
	return t
}

// Device returns the bytes of one kind on devices whose name starts with prefix
// ("CPU" matches CPU and CPU_Mapped, "CUDA0" one GPU). Host-pinned buffers
// ("CUDA_Host") count as "CUDA_Host", not as the GPU.
func (m Memory) Device(prefix string, kind Kind) uint64 {
	var t uint64
	for _, e := range m.Entries {
		if e.Kind == kind && strings.HasPrefix(e.Device, prefix) {
			t += e.Bytes
		}
	}
	return t
}

// Sum is weights + KV + compute + output over all devices: what the load
// allocated (Ollama's "total memory" line is kept separately as kind Total).
func (m Memory) Sum() uint64 {
	return m.Total(Weights) + m.Total(KV) + m.Total(Compute) + m.Total(Output)
}
