package rigtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fitbench/fitbench/internal/archtest"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// OllamaLoad is what one load of a model in `ollama serve` on simulated GPUs
// showed: the engine path, the layers its scheduler gave each device, the bytes
// each device holds and `ollama ps`.
type OllamaLoad struct {
	Engine    string // "ollama" (ollamarunner) or "llamacpp" (llamarunner)
	OK        bool
	Error     string
	NumGPU    int   // Ollama's "offloaded N/M layers to GPU"
	Total     int   // M
	GPULayers []int // per simulated GPU, from the commit load request (the output layer counts as one)
	// Devices in fitbench's order: SIMGPU0…n-1, then CPU (host buffers).
	Devices []Device
	// Ollama's own accounting (`ollama ps`): size and size_vram.
	Size, SizeVRAM uint64
	// EstimateVRAM is, for the llama.cpp runner, Ollama's up-front estimate of
	// the GPU side (the "memory estimate" line: what size_vram reports).
	Log string
}

// OllamaLib is the simulated device's shared library next to the rig binary.
func OllamaLib(rigBin string) (string, error) {
	p := filepath.Join(filepath.Dir(filepath.Dir(rigBin)), "lib", "libggml-simgpu.so")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the rig is built but %s is missing: %v", p, err)
	}
	return p, nil
}

// OllamaServer is one `ollama serve` whose GPU discovery finds the simulated
// devices gpus (FITBENCH_SIMGPU), with OLLAMA_DEBUG=1 (the Ollama engine's
// exact per-device memory line) and the extra environment env.
type OllamaServer struct {
	Srv  *ollamatest.Server
	GPUs []GPU
	// NGPU is the number of GPUs results are reported for (default len(GPUs);
	// more when the plan hid them and the server started without them).
	NGPU int
}

// StartOllama starts the server; scratch holds its model store.
func StartOllama(bin, lib, scratch string, gpus []GPU, env []string) (*OllamaServer, error) {
	e := []string{"GGML_BACKEND_PATH=" + lib, "FITBENCH_SIMGPU=" + Env(gpus), "OLLAMA_DEBUG=1", "OLLAMA_MAX_LOADED_MODELS=1"}
	if len(gpus) == 0 {
		e = e[2:] // no simulated device: plain CPU
	}
	s, err := ollamatest.StartProcess(bin, ollamatest.Options{Env: append(e, env...)}, scratch)
	if err != nil {
		return nil, err
	}
	return &OllamaServer{Srv: s, GPUs: gpus, NGPU: len(gpus)}, nil
}

// Import uploads a GGUF and creates model name from it.
func (o *OllamaServer) Import(ctx context.Context, name, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	h := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(h[:])
	if err := archtest.Call(ctx, http.MethodPost, o.Srv.URL+"/api/blobs/"+digest, bytes.NewReader(data), nil); err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	body, _ := json.Marshal(map[string]any{"model": name, "files": map[string]string{filepath.Base(path): digest}, "stream": false})
	return archtest.Call(ctx, http.MethodPost, o.Srv.URL+"/api/create", bytes.NewReader(body), nil)
}

// Load loads name with the request options opts (num_ctx, num_gpu…), decodes
// two tokens, reads `ollama ps`, then unloads it and parses what the load
// printed. A load Ollama refuses or a runner that dies is OK false, not an error.
func (o *OllamaServer) Load(ctx context.Context, name string, opts map[string]int) (*OllamaLoad, error) {
	off := len(o.Srv.Log())
	op := map[string]any{"num_predict": 2, "temperature": 0, "seed": 1}
	for k, v := range opts {
		op[k] = v
	}
	body, _ := json.Marshal(map[string]any{"model": name, "prompt": "hello", "stream": false, "options": op})
	l := &OllamaLoad{OK: true}
	if err := archtest.Call(ctx, http.MethodPost, o.Srv.URL+"/api/generate", bytes.NewReader(body), nil); err != nil {
		l.OK, l.Error = false, err.Error()
	}
	if l.OK {
		var ps struct {
			Models []struct {
				Size     uint64 `json:"size"`
				SizeVRAM uint64 `json:"size_vram"`
			} `json:"models"`
		}
		if err := archtest.Call(ctx, http.MethodGet, o.Srv.URL+"/api/ps", nil, &ps); err != nil {
			return nil, err
		}
		if len(ps.Models) == 1 {
			l.Size, l.SizeVRAM = ps.Models[0].Size, ps.Models[0].SizeVRAM
		}
	}
	// unload (keep_alive 0) and wait, so the next load's lines are its own
	ub, _ := json.Marshal(map[string]any{"model": name, "keep_alive": 0})
	_ = archtest.Call(ctx, http.MethodPost, o.Srv.URL+"/api/generate", bytes.NewReader(ub), nil)
	if err := o.waitUnloaded(ctx); err != nil {
		return nil, err
	}
	l.Log = o.Srv.LogSince(off)
	if err := l.parse(max(o.NGPU, len(o.GPUs))); err != nil && l.OK {
		return l, err
	}
	return l, nil
}

// Stop ends the server.
func (o *OllamaServer) Stop() { o.Srv.Stop() }

func (o *OllamaServer) waitUnloaded(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ps struct {
			Models []json.RawMessage `json:"models"`
		}
		if err := archtest.Call(ctx, http.MethodGet, o.Srv.URL+"/api/ps", nil, &ps); err != nil {
			return err
		}
		if len(ps.Models) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("rigtest: model still loaded 30 s after keep_alive 0")
}

var (
	reORunner = regexp.MustCompile(`msg="starting runner" cmd="[^"]*\brunner( --ollama-engine)? --model `)
	reOEngine = regexp.MustCompile(`msg="starting ollama engine"`)
	// llama.cpp's load_tensors and Ollama's ml/backend/ggml/ggml.go print the same line
	reOffloaded = regexp.MustCompile(`offloaded (\d+)/(\d+) layers to GPU`)
	// runner load request (llm/server.go LoadRequest, printed by both runners)
	reCommit   = regexp.MustCompile(`load request="\{Operation:commit .*?GPULayers:(\S*\[[^\]]*\]|\[\])`)
	reGPULayer = regexp.MustCompile(`ID:\S+?(\d+) Layers:(\d+)\(`)
	// Ollama's engine with OLLAMA_DEBUG=1 (llm/server.go: slog.Debug("memory", …, "required", resp.Memory))
	reOMemory = regexp.MustCompile(`msg=memory success=\S+ required\.`)
	reODev    = regexp.MustCompile(`required\.(\w+)\.(Weights|Cache|Graph)=("?\[[\d ]*\]"?|\d+)`)
	reOInput  = regexp.MustCompile(`required\.InputWeights=(\d+)`)
)

// simIndex maps the simulated devices' IDs (GPU-51b6a000-0000-4000-8000-00000000000N)
// and names (SIMGPUn) to their index.
func simIndex(s string) (int, bool) {
	if strings.HasPrefix(s, "SIMGPU") && !strings.Contains(s, "_") {
		n, err := strconv.Atoi(s[len("SIMGPU"):])
		return n, err == nil
	}
	return 0, false
}

func (l *OllamaLoad) parse(nGPU int) error {
	lines := strings.Split(l.Log, "\n")
	start := -1
	for i, s := range lines {
		if g := reORunner.FindStringSubmatch(s); g != nil {
			start = i
			l.Engine = "llamacpp"
			if g[1] != "" {
				l.Engine = "ollama"
			}
		}
	}
	if start < 0 {
		return errors.New("rigtest: no runner started in Ollama's log")
	}
	lines = lines[start:]
	l.Devices = make([]Device, nGPU+1)
	for i := 0; i < nGPU; i++ {
		l.Devices[i].Name = fmt.Sprintf("SIMGPU%d", i)
	}
	l.Devices[nGPU].Name = "CPU"
	l.GPULayers = make([]int, nGPU)
	lastMem := ""
	for _, s := range lines {
		if g := reOffloaded.FindStringSubmatch(s); g != nil {
			l.NumGPU, _ = strconv.Atoi(g[1])
			l.Total, _ = strconv.Atoi(g[2])
		}
		if g := reCommit.FindStringSubmatch(s); g != nil {
			clear(l.GPULayers)
			for _, m := range reGPULayer.FindAllStringSubmatch(g[1], -1) {
				i, _ := strconv.Atoi(m[1])
				n, _ := strconv.Atoi(m[2])
				if i < nGPU {
					l.GPULayers[i] += n
				}
			}
		}
		if reOMemory.MatchString(s) {
			lastMem = s
		}
		if l.Engine == "llamacpp" {
			if g := reBufLine.FindStringSubmatch(s); g != nil {
				l.addBuffer(nGPU, g[2], g[3], archtest.ToBytes(g[4], g[5]))
			}
		}
	}
	for i, n := range l.GPULayers {
		l.Devices[i].Layers = n
	}
	if l.Engine == "ollama" {
		if lastMem == "" {
			return errors.New("rigtest: Ollama engine log has no memory line (OLLAMA_DEBUG=1?)")
		}
		l.parseEngineMemory(nGPU, lastMem)
	}
	for i := range l.Devices {
		d := &l.Devices[i]
		d.TotalBytes = d.WeightsBytes + d.KVBytes + d.ComputeBytes + d.OutputBytes
	}
	return nil
}

// reBufLine is llama.cpp's buffer line: "llama_kv_cache:    SIMGPU0 KV buffer size =    10.00 MiB".
var reBufLine = regexp.MustCompile(`^\s*([a-z_]+)\s*:\s*(\S+)\s+(model|KV|RS|compute|output)\s+buffer size\s*=\s*([0-9.]+)\s*(MiB|KiB|GiB|B)\b`)

func (l *OllamaLoad) addBuffer(nGPU int, buft, kind string, b uint64) {
	i := nGPU // host buffer types (CPU, CPU_Mapped, SIMGPU_Host) are system RAM
	if n, ok := simIndex(buft); ok && n < nGPU {
		i = n
	}
	d := &l.Devices[i]
	switch kind {
	case "model":
		if buft == "CPU_Mapped" {
			// the mapping covers the whole file; the CPU's weights are
			// derived by the caller (file tensors − GPU model buffers)
			return
		}
		d.WeightsBytes += b
	case "KV", "RS":
		d.KVBytes += b
	case "compute":
		d.ComputeBytes += b
	case "output":
		d.OutputBytes += b
	}
}

// parseEngineMemory reads the Ollama engine's exact per-device memory: per
// layer weights and cache, the graph, and the token embedding (InputWeights,
// always on the CPU).
func (l *OllamaLoad) parseEngineMemory(nGPU int, s string) {
	cpu := nGPU
	if g := reOInput.FindStringSubmatch(s); g != nil {
		v, _ := strconv.ParseUint(g[1], 10, 64)
		l.Devices[cpu].WeightsBytes += v
	}
	for _, g := range reODev.FindAllStringSubmatch(s, -1) {
		i := cpu
		if n, ok := simIndex(g[1]); ok && n < nGPU {
			i = n
		} else if g[1] != "CPU" {
			continue
		}
		v := uint64(0)
		for _, x := range archtest.Uints(strings.Trim(g[3], `"[]`)) {
			v += x
		}
		d := &l.Devices[i]
		switch g[2] {
		case "Weights":
			d.WeightsBytes += v
		case "Cache":
			d.KVBytes += v
		case "Graph":
			d.ComputeBytes += v
		}
	}
}
