package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

// llama-server gets the installed projector as --mmproj PATH; without one
// there is no --mmproj. vLLM's command line never carries it (the instance
// notes that instead).
func TestLlamaServerGetsMMProj(t *testing.T) {
	s := Settings{ModelPath: "/m/org/repo/model-Q4_0.gguf", ModelID: "org/repo:Q4_0",
		ProjectorPath: "/m/org/repo/mmproj-model-f16.gguf", Ctx: 2048, Parallel: 1}
	args := llamaArgs(s, 9000)
	i := slices.Index(args, "--mmproj")
	if i < 0 || i+1 >= len(args) || args[i+1] != s.ProjectorPath {
		t.Fatalf("llama-server args %v: want --mmproj %s", args, s.ProjectorPath)
	}
	if m := slices.Index(args, "-m"); args[m+1] != s.ModelPath {
		t.Errorf("-m is %q, want the model", args[m+1])
	}
	s.ProjectorPath = ""
	if slices.Contains(llamaArgs(s, 9000), "--mmproj") {
		t.Errorf("--mmproj without a projector: %v", llamaArgs(s, 9000))
	}
	s.ProjectorPath = "/m/org/repo/mmproj-model-f16.gguf"
	va, err := vllmArgs(s, 9000)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(va, " "), "mmproj") {
		t.Errorf("vllm args carry the projector: %v", va)
	}
	if n := vllmNotes(s); !slices.Contains(n, VLLMProjectorNote) {
		t.Errorf("vllm notes %v do not say the projector is left out", n)
	}
	if n := vllmNotes(Settings{ModelPath: s.ModelPath}); slices.Contains(n, VLLMProjectorNote) {
		t.Errorf("vllm notes %v without a projector", n)
	}
}

// Ollama's create request names the projector as a second GGUF file beside
// the model (what a Modelfile's second FROM sends); a projector with the
// model's base name still gets its own key.
func TestOllamaCreateRequestCarriesProjector(t *testing.T) {
	body := createRequest("org/repo:q4_0", "/m/Q4_0/model.gguf", "aa", "/m/mmproj-f16.gguf", "bb")
	files := body["files"].(map[string]string)
	if len(files) != 2 || files["model.gguf"] != "sha256:aa" || files["mmproj-f16.gguf"] != "sha256:bb" {
		t.Errorf("files %v", files)
	}
	if _, ok := body["adapters"]; ok {
		t.Error("the projector must not go in adapters (LoRA only)")
	}
	body = createRequest("org/repo:q4_0", "/m/Q4_0/model.gguf", "aa", "/m/vision/model.gguf", "bb")
	files = body["files"].(map[string]string)
	if len(files) != 2 || files["model.gguf"] != "sha256:aa" || files["mmproj-model.gguf"] != "sha256:bb" {
		t.Errorf("files with a clashing base name %v", files)
	}
	body = createRequest("org/repo:q4_0", "/m/model.gguf", "aa", "", "")
	if files = body["files"].(map[string]string); len(files) != 1 {
		t.Errorf("files without a projector %v", files)
	}
}

// The real Ollama takes the model and a synthetic clip projector: the created
// model has a projector layer (/api/show's projector_info is the projector's
// metadata), and loading it through the adapter hands the projector to the
// llama.cpp runner, whose mtmd/clip loader reads it (its load_hparams lines)
// before the model answers a text chat.
func TestOllamaImportsProjector(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a bound, not an assertion
	defer cancel()
	proj := filepath.Join(t.TempDir(), "mmproj-tiny-f32.gguf")
	if err := synth.WriteProjector(proj, synth.ProjectorSpec{Layers: 2, Embd: 64, FF: 128, Heads: 4,
		ImageSize: 32, PatchSize: 8, TextEmbd: synth.Tiny.Embd, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	name := OllamaName("fitbench/Tiny-Vision-GGUF:F16")
	if _, err := importGGUF(ctx, http.DefaultClient, srv.URL, testModel(t), proj, name); err != nil {
		t.Fatal(err)
	}
	resp, err := postJSON(ctx, http.DefaultClient, srv.URL+"/api/show", "", map[string]any{"model": name})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var show struct {
		ModelInfo     map[string]any `json:"model_info"`
		ProjectorInfo map[string]any `json:"projector_info"`
	}
	if err := json.Unmarshal(raw, &show); err != nil {
		t.Fatalf("show: %v: %s", err, raw)
	}
	if show.ProjectorInfo["general.architecture"] != "clip" || show.ProjectorInfo["clip.vision.block_count"] != float64(2) {
		t.Fatalf("projector_info %v: the created model has no projector layer", show.ProjectorInfo)
	}
	if show.ModelInfo["general.architecture"] != "llama" {
		t.Errorf("model_info %v", show.ModelInfo)
	}

	inst, err := (&Ollama{Host: srv.URL, Log: srv.Log}).Start(ctx, Settings{ModelPath: testModel(t), ProjectorPath: proj,
		ModelID: "fitbench/Tiny-Vision-GGUF:F16", GPULayers: -1, Ctx: 512, Threads: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	if inst.Flags()["num_ctx"] != "2048" { // server/sched.go: a vision model gets at least 2048
		t.Errorf("num_ctx %s with a projector and Ctx 512: Ollama runs 2048", inst.Flags()["num_ctx"])
	}
	res, err := inst.Chat(ctx, ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 4}, func(string) {})
	if err != nil || res.OutputTokens != 4 {
		t.Fatalf("chat with the projector loaded: %+v, %v", res, err)
	}
	log := srv.Log()
	for _, want := range []string{"ProjectorPath:/", "clip_model_loader: has vision encoder", "load_hparams: projector:          mlp"} {
		if !strings.Contains(log, want) {
			t.Errorf("the Ollama log lacks %q: the projector was not loaded", want)
		}
	}
}
