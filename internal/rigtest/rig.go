// Package rigtest runs the simulated-GPU rig (tools/simgpu, built by
// scripts/build-simgpu.sh) — the real llama.cpp vendored by Ollama, loading a
// model on ggml devices that present themselves as GPUs with a set amount of
// memory — and turns its JSON into per-device figures fitbench's estimate can be
// compared with. Tests that need the rig call Require: it fails when
// FITBENCH_REQUIRE_RIG=1 (make test, CI) and skips otherwise.
package rigtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Binary finds simgpu-rig: $FITBENCH_TOOLS/bin, ~/.cache/fitbench/tools/bin, then PATH.
func Binary() (string, error) {
	var dirs []string
	if d := os.Getenv("FITBENCH_TOOLS"); d != "" {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".cache", "fitbench", "tools", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "simgpu-rig")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("simgpu-rig"); err == nil {
		return p, nil
	}
	return "", errors.New("simgpu-rig not found (build it with scripts/build-simgpu.sh)")
}

// Require returns the rig's path or ends the test: Fatal when
// FITBENCH_REQUIRE_RIG=1, Skip otherwise.
func Require(t testing.TB) string {
	t.Helper()
	p, err := Binary()
	if err != nil {
		if os.Getenv("FITBENCH_REQUIRE_RIG") == "1" {
			t.Fatalf("rig required but missing: %v", err)
		}
		t.Skipf("rig test not run: %v", err)
	}
	return p
}

// GPU is one simulated device: the memory its allocations may use.
type GPU struct {
	FreeBytes  uint64
	TotalBytes uint64 // 0 = FreeBytes
}

// Env is FITBENCH_SIMGPU for gpus (exact bytes, "B" suffix).
func Env(gpus []GPU) string {
	parts := make([]string, len(gpus))
	for i, g := range gpus {
		tot := g.TotalBytes
		if tot == 0 {
			tot = g.FreeBytes
		}
		parts[i] = fmt.Sprintf("%dB/%dB", g.FreeBytes, tot)
	}
	return strings.Join(parts, ",")
}

// Fit is what llama_params_fit chose.
type Fit struct {
	OK          bool      `json:"ok"`
	NCtx        int       `json:"n_ctx"`
	NGPULayers  int       `json:"n_gpu_layers"`
	TensorSplit []float64 `json:"tensor_split"`
	Overrides   []struct {
		Pattern string `json:"pattern"`
		Buft    string `json:"buft"`
	} `json:"overrides"`
}

// Buffer is one line of llama_context::memory_breakdown: bytes per buffer type.
type Buffer struct {
	Buft    string `json:"buft"`
	Device  string `json:"device"` // SIMGPUn, or CPU for host memory
	Host    bool   `json:"host"`
	Model   uint64 `json:"model"`
	Context uint64 `json:"context"`
	Compute uint64 `json:"compute"`
}

// SimStats is the simulated device's own accounting.
type SimStats struct {
	Name          string `json:"name"`
	FreeAtStart   uint64 `json:"free_at_start"`
	Total         uint64 `json:"total"`
	Allocated     uint64 `json:"allocated"` // after the run (0 when everything was freed)
	Peak          uint64 `json:"peak"`
	FailedAllocs  int    `json:"failed_allocs"`
	LargestFailed uint64 `json:"largest_failed"`
}

// Result is the rig's JSON.
type Result struct {
	OK           bool     `json:"ok"`
	Error        string   `json:"error"`
	Fit          *Fit     `json:"fit"`
	Layers       []string `json:"layers"` // device per block
	OutputDevice string   `json:"output_device"`
	NLayer       int      `json:"n_layer"`
	NCtx         int      `json:"n_ctx"`
	NCtxSeq      int      `json:"n_ctx_seq"`
	NSeq         int      `json:"n_seq"`
	NUbatch      int      `json:"n_ubatch"`
	FlashAttn    bool     `json:"flash_attn"`
	Buffers      []Buffer `json:"buffers"`
	OutputBuffer *struct {
		Buft   string `json:"buft"`
		Device string `json:"device"`
		Bytes  uint64 `json:"bytes"`
	} `json:"output_buffer"`
	Tensors map[string]struct {
		Bytes  uint64            `json:"bytes"`
		Layers map[string]uint64 `json:"layers"`
	} `json:"tensors"`
	Decoded int        `json:"decoded"`
	SimGPU  []SimStats `json:"simgpu"`
	Log     string     `json:"-"` // llama.cpp's stderr
}

// Device is the rig's figures for one device, in fitbench's terms.
type Device struct {
	Name          string
	Layers        int // blocks, plus 1 for the output layer
	WeightsBytes  uint64
	KVBytes       uint64
	ComputeBytes  uint64
	OutputBytes   uint64 // the logits buffer (host memory)
	TotalBytes    uint64
	PeakAllocated uint64 // simulated devices: the most allocated at once
	FailedAllocs  int
}

// Devices folds the buffers into SIMGPU0…n-1 then CPU (all host buffer types:
// CPU, CPU_Mapped, SIMGPU_Host — pinned staging memory is system RAM).
func (r *Result) Devices(nGPU int) []Device {
	out := make([]Device, nGPU+1)
	idx := map[string]int{"CPU": nGPU}
	for i := 0; i < nGPU; i++ {
		n := fmt.Sprintf("SIMGPU%d", i)
		idx[n] = i
		out[i].Name = n
	}
	out[nGPU].Name = "CPU"
	for _, b := range r.Buffers {
		i, ok := idx[b.Device]
		if !ok {
			i = nGPU
		}
		if b.Buft == "CPU_Mapped" {
			// the mapping covers the whole file, GPU tensors included; the
			// weights the CPU uses are the tensors placed in it
			out[i].WeightsBytes += r.Tensors[b.Buft].Bytes
		} else {
			out[i].WeightsBytes += b.Model
		}
		out[i].KVBytes += b.Context
		out[i].ComputeBytes += b.Compute
	}
	if r.OutputBuffer != nil {
		i, ok := idx[r.OutputBuffer.Device]
		if !ok {
			i = nGPU
		}
		out[i].OutputBytes += r.OutputBuffer.Bytes
	}
	for _, d := range r.Layers {
		if i, ok := idx[d]; ok {
			out[i].Layers++
		}
	}
	if i, ok := idx[r.OutputDevice]; ok {
		out[i].Layers++
	}
	for i := range out {
		d := &out[i]
		d.TotalBytes = d.WeightsBytes + d.KVBytes + d.ComputeBytes + d.OutputBytes
		if i < nGPU && i < len(r.SimGPU) {
			d.PeakAllocated = r.SimGPU[i].Peak
			d.FailedAllocs = r.SimGPU[i].FailedAllocs
		}
	}
	return out
}

// Run runs the rig with llama-server's flags args (including -m) on gpus. A run that
// loads but fails (out of memory on a device, a failed decode) is a Result with
// OK false, not an error; an error means the rig itself could not run or
// printed no JSON.
func Run(ctx context.Context, bin string, gpus []GPU, args ...string) (*Result, error) {
	full := append(append([]string{}, args...), "-t", "1")
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "FITBENCH_SIMGPU="+Env(gpus))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r Result
	line := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if jerr := json.Unmarshal(line, &r); jerr != nil {
		return nil, fmt.Errorf("rig %s: %v (no JSON: %v)\n%s", strings.Join(full, " "), err, jerr, tail(stderr.String(), 3000))
	}
	r.Log = stderr.String()
	return &r, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
