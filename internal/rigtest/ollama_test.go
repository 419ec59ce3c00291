package rigtest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// simgpuLib is the out-of-tree ggml backend built next to the rig.
func simgpuLib(t *testing.T, rigBin string) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(filepath.Dir(rigBin)), "lib", "libggml-simgpu.so")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the rig is built but %s is missing: %v", p, err)
	}
	return p
}

// TestOllamaSeesSimulatedGPUs: with GGML_BACKEND_PATH naming the simulated
// device, the real `ollama serve` discovers the GPUs (its own discovery, not
// an override), its scheduler plans the load against their memory and the
// runner places buffers on them; `ollama ps` then reports VRAM in use.
func TestOllamaSeesSimulatedGPUs(t *testing.T) {
	rig := Require(t)
	ollamatest.Require(t)
	lib := simgpuLib(t, rig)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	paths, _, err := estimatetest.WriteModels(t.TempDir(), estimatetest.Models[5:6]) // m-q4-big, 60 MB
	if err != nil {
		t.Fatal(err)
	}
	// 520 and 480 MiB: Ollama keeps a 457 MiB minimum free per GPU
	srv := ollamatest.Start(t, ollamatest.Options{Env: []string{"GGML_BACKEND_PATH=" + lib, "FITBENCH_SIMGPU=520,480"}})
	defer srv.Stop()
	if err := estimatetest.ImportModel(ctx, srv.URL, "m", paths[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := estimatetest.Generate(ctx, srv.URL, "m", estimatetest.GenOptions{NumCtx: 2048, Predict: 2}); err != nil {
		t.Fatalf("generate on simulated GPUs: %v\n%s", err, tail(srv.Log(), 3000))
	}
	log := srv.Log()
	for _, want := range []string{`library=SIMGPU`, `name=SIMGPU0`, `name=SIMGPU1`, `SIMGPU0 compute buffer size`} {
		if !strings.Contains(log, want) {
			t.Errorf("Ollama's log lacks %q\n%s", want, tail(log, 4000))
		}
	}
	var ps struct {
		Models []struct {
			Size     uint64 `json:"size"`
			SizeVRAM uint64 `json:"size_vram"`
		} `json:"models"`
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/ps", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil || len(ps.Models) != 1 {
		t.Fatalf("ollama ps: %v %+v", err, ps)
	}
	t.Logf("ollama ps: size %d, size_vram %d", ps.Models[0].Size, ps.Models[0].SizeVRAM)
	if ps.Models[0].SizeVRAM == 0 {
		t.Errorf("Ollama reports no VRAM in use on the simulated GPUs")
	}
}
