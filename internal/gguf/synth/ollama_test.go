package synth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/engine/llamalog"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// TestOllamaLoadsGeneratedModels is the foundation's ground truth: a model made
// by synth loads in the real engine, generates tokens, and the engine's own
// buffer sizes equal what our reader computes from the header.
func TestOllamaLoadsGeneratedModels(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{}) // skips under -short, as every engine test does
	cases := []struct {
		name string
		spec synth.Spec
		ctx  int
	}{
		{"llama-q8_0-gqa4", synth.Spec{Layers: 4, Embd: 512, Heads: 8, KVHeads: 2, FF: 1024, Vocab: 4000, Ctx: 4096, WeightType: gguf.TypeQ8_0, Seed: 3}, 2048},
		{"llama-q4_0-gqa2", synth.Spec{Layers: 4, Embd: 256, Heads: 8, KVHeads: 4, FF: 512, Vocab: 3000, Ctx: 4096, WeightType: gguf.TypeQ4_0, Seed: 4}, 2048},
		{"llama-f16-mha", synth.Spec{Layers: 3, Embd: 384, Heads: 6, KVHeads: 6, FF: 768, Vocab: 2000, Ctx: 4096, WeightType: gguf.TypeF16, Seed: 5}, 1024},
		{"qwen2-f16", synth.Spec{Arch: "qwen2", Layers: 3, Embd: 256, Heads: 4, KVHeads: 2, FF: 512, Vocab: 1000, Ctx: 4096, Seed: 6}, 2048},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			paths, err := synth.Write(t.TempDir(), tc.name, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.ReadFile(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			sum, err := f.Summary()
			if err != nil {
				t.Fatal(err)
			}
			offset := len(srv.Log())
			evalCount := importAndGenerate(t, srv.URL, paths[0], tc.name, tc.ctx)
			if evalCount < 16 {
				t.Fatalf("engine generated %d tokens, want at least 16", evalCount)
			}
			mem := llamalog.Parse(srv.LogSince(offset))
			gotWeights := mem.Total(llamalog.Weights)
			gotKV := mem.Total(llamalog.KV)
			// f16 cache: n_ctx × layers × kv_heads × (key_len + value_len) × 2 bytes.
			headDim := uint64(tc.spec.Embd / tc.spec.Heads)
			wantKV := uint64(tc.ctx) * uint64(tc.spec.Layers) * uint64(tc.spec.KVHeads) * (headDim + headDim) * 2
			t.Logf("%s: tensor bytes ours %d, engine %d; KV formula %d, engine %d; eval_count %d",
				tc.name, sum.TensorBytes, gotWeights, wantKV, gotKV, evalCount)
			if gotWeights == 0 || gotKV == 0 {
				t.Fatalf("engine log has no buffer lines:\n%s", srv.LogSince(offset))
			}
			within(t, "model buffer", float64(gotWeights), float64(sum.TensorBytes), 0.01)
			within(t, "KV buffer", float64(gotKV), float64(wantKV), 0.01)
		})
	}
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if rel := math.Abs(got-want) / want; rel > tol {
		t.Errorf("%s: engine %.0f bytes, ours %.0f bytes: off by %.2f%% (limit %.0f%%)", what, got, want, 100*rel, 100*tol)
	}
}

// importAndGenerate creates the model in Ollama from the GGUF file and runs one
// generation, returning the engine's eval_count.
func importAndGenerate(t *testing.T, base, path, name string, numCtx int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	post(ctx, t, base+"/api/blobs/"+digest, "application/octet-stream", bytes.NewReader(data), nil)
	create := map[string]any{"model": name, "files": map[string]string{filepath.Base(path): digest}, "stream": false}
	post(ctx, t, base+"/api/create", "application/json", jsonBody(t, create), nil)
	var gen struct {
		Response  string `json:"response"`
		EvalCount int    `json:"eval_count"`
	}
	req := map[string]any{"model": name, "prompt": "Tell me a story about a lighthouse.", "stream": false,
		"options": map[string]any{"num_predict": 24, "temperature": 0, "seed": 1, "num_ctx": numCtx}}
	post(ctx, t, base+"/api/generate", "application/json", jsonBody(t, req), &gen)
	return gen.EvalCount
}

func post(ctx context.Context, t *testing.T, url, ctype string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s: %s", url, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %v: %s", url, err, b)
		}
	}
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(fmt.Errorf("marshal: %w", err))
	}
	return bytes.NewReader(b)
}
