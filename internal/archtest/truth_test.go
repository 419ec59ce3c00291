package archtest

import (
	"os"
	"testing"
)

func readLog(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const mib = 1 << 20

// Logs captured from the real Ollama v0.17.4 (OLLAMA_DEBUG=1) loading synth
// presets: the parser takes the engine path and the exact numbers from them.
func TestParseLogOllamaEngineHybrid(t *testing.T) {
	attn := map[int]bool{2: true, 5: true, 8: true, 10: true, 12: true, 14: true}
	tr, err := ParseLog(readLog(t, "lfm2.log"), func(i int) bool { return attn[i] })
	if err != nil {
		t.Fatal(err)
	}
	if tr.Path != PathOllama || tr.Fallback != "" || !tr.Exact {
		t.Fatalf("%+v", tr)
	}
	if len(tr.LayerCache) != 17 || len(tr.LayerWeights) != 17 || tr.InputWeights != 4457472 {
		t.Fatalf("per-layer detail: %+v", tr)
	}
	// 6 attention layers × 2048 cells × 1 KV head × 64 × 2 (K and V) × 2 bytes.
	if tr.KV != 6*2048*64*2*2 {
		t.Errorf("KV %d", tr.KV)
	}
	// 10 short-conv layers × 51200 bytes each (the per-layer cache the log prints).
	if tr.Recurrent != 10*51200 {
		t.Errorf("recurrent %d", tr.Recurrent)
	}
	if tr.Total != tr.Weights+tr.KV+tr.Recurrent+tr.Compute || tr.Compute == 0 {
		t.Errorf("total %+v", tr)
	}
	// INFO-level summary line of the same load: "model weights" 25.0 MiB.
	if d := float64(tr.Weights)/mib - 25.0; d < -0.05 || d > 0.05 {
		t.Errorf("weights %.3f MiB, log says 25.0", float64(tr.Weights)/mib)
	}
}

func TestParseLogLlamaCppRecurrentAndFallback(t *testing.T) {
	tr, err := ParseLog(readLog(t, "granitehybrid.log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Path != PathLlamaCpp || tr.FlashAttention != "enabled" || tr.NCtx != 2048 || tr.NUbatch != 512 {
		t.Fatalf("%+v", tr)
	}
	m := func(f float64) uint64 { return uint64(f*mib + 0.5) }
	want := Truth{Weights: m(43.13), Output: m(0.06), KV: m(2.00), Recurrent: m(3.09), Compute: m(33.50)}
	for _, c := range []struct {
		name      string
		got, want uint64
	}{{"weights", tr.Weights, want.Weights}, {"output", tr.Output, want.Output}, {"kv", tr.KV, want.KV},
		{"rs", tr.Recurrent, want.Recurrent}, {"compute", tr.Compute, want.Compute}} {
		if d := int64(c.got) - int64(c.want); d < -1 || d > 1 {
			t.Errorf("%s %d, want %d", c.name, c.got, c.want)
		}
	}
	ds, err := ParseLog(readLog(t, "deepseek2-lite.log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Path != PathLlamaCpp || ds.Fallback != "tokenizer not supported" {
		t.Fatalf("deepseek2 with pre deepseek-llm: %+v", ds)
	}
}

func TestParseLogErrors(t *testing.T) {
	if _, err := ParseLog("nothing here", nil); err == nil {
		t.Fatal("empty log accepted")
	}
	if _, err := ParseLog(`time=x level=INFO source=server.go:431 msg="starting runner" cmd="/x/ollama runner --ollama-engine --model /m --port 1"`, nil); err == nil {
		t.Fatal("Ollama engine log without a memory line accepted")
	}
}

func TestCasesCoverMatrix(t *testing.T) {
	cs := Cases()
	if len(cs) != len(MatrixPresets)*len(Contexts)*len(Parallels) {
		t.Fatalf("%d cases", len(cs))
	}
	seen := map[string]bool{}
	for i, c := range cs {
		if seen[c.Name()] {
			t.Fatalf("%s twice", c.Name())
		}
		seen[c.Name()] = true
		if i > 0 && cs[i-1].Parallel > c.Parallel {
			t.Fatal("cases not grouped by parallel")
		}
	}
}
