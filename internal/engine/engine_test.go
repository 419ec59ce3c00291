package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/testutil/ollamatest"
)

func testModel(t *testing.T) string {
	t.Helper()
	paths, err := synth.Write(t.TempDir(), "engine-tiny", synth.Tiny)
	if err != nil {
		t.Fatal(err)
	}
	return paths[0]
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestNoEngineNamesWhatToInstall(t *testing.T) {
	t.Setenv("PATH", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("OLLAMA_HOST", closedPort(t)) // nothing answers there
	_, err := Auto(context.Background())
	var ne NoEngineError
	if !errors.As(err, &ne) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"https://ollama.com/download", "scripts/build-ollama.sh", "llama-server", "pip install vllm"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	_, err = (&Ollama{}).Start(context.Background(), Settings{ModelPath: "/nonexistent.gguf", ModelID: "a/b:Q4_0"})
	var na *NotAvailableError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "https://ollama.com/download") {
		t.Fatalf("ollama without binary: %v", err)
	}
	_, err = (&LlamaCpp{}).Start(context.Background(), Settings{ModelPath: "/x.gguf"})
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "llama-server") {
		t.Fatalf("llamacpp without binary: %v", err)
	}
}

func TestOllamaNameAndHost(t *testing.T) {
	for in, want := range map[string]string{
		"bartowski/OLMo-2-1124-7B-Instruct-GGUF:Q4_0": "bartowski/olmo-2-1124-7b-instruct-gguf:q4_0",
		"org/repo:UD-Q4_K_XL":                         "org/repo:ud-q4_k_xl",
		"Some Org/My Repo+v2":                         "some-org/my-repo-v2:latest",
		"a/b/c:Q8_0":                                  "a/b-c:q8_0",
		"":                                            "model:latest",
	} {
		if got := OllamaName(in); got != want {
			t.Errorf("OllamaName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"":                      "http://127.0.0.1:11434",
		"0.0.0.0":               "http://127.0.0.1:11434",
		"127.0.0.1:5000":        "http://127.0.0.1:5000",
		"http://example.com:80": "http://example.com:80",
	} {
		if got := ollamaHost(in); got != want {
			t.Errorf("ollamaHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOllamaAndOpenAIAdapters loads a generated model through the Ollama adapter
// (import, load, native chat with engine timings, memory from /api/ps and the load
// log), then talks to the same server through the OpenAI adapter at /v1.
func TestOllamaAndOpenAIAdapters(t *testing.T) {
	srv := ollamatest.Start(t, ollamatest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not an assertion
	defer cancel()
	inst, err := (&Ollama{Host: srv.URL, Log: srv.Log}).Start(ctx, Settings{
		ModelPath: testModel(t), ModelID: "fitbench/Tiny-GGUF:F16", GPULayers: -1, Ctx: 512, Threads: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(context.Background())
	if inst.Model() != "fitbench/tiny-gguf:f16" || inst.BaseURL() != srv.URL+"/v1" || inst.Flags()["num_ctx"] != "512" {
		t.Fatalf("instance %s %s %v", inst.Model(), inst.BaseURL(), inst.Flags())
	}
	msgs := []Message{{Role: "user", Content: "Say something about rivers."}}
	pieces := 0
	res, err := inst.Chat(ctx, ChatRequest{Messages: msgs, MaxTokens: 12}, func(string) { pieces++ })
	if err != nil {
		t.Fatal(err)
	}
	if res.Timing == nil || res.Timing.EvalTokens != 12 || res.OutputTokens != 12 || res.Timing.DecodeTPS() <= 0 ||
		res.PromptTokens == 0 || res.FinishReason != "length" {
		t.Fatalf("native chat: %+v %+v", res, res.Timing)
	}
	mem, err := inst.Memory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mem.CPUBytes <= 0 || mem.GPUBytes != 0 || mem.Log == nil || mem.Log.NCtx == 0 {
		t.Fatalf("memory %+v", mem)
	}
	gpu, cpu := memoryFromLog(*mem.Log)
	if gpu != 0 || cpu <= 0 {
		t.Errorf("load log memory gpu %d cpu %d", gpu, cpu)
	}

	oa, err := (&OpenAI{BaseURL: srv.URL + "/v1", Model: inst.Model()}).Start(ctx, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	ores, err := oa.Chat(ctx, ChatRequest{Messages: msgs, MaxTokens: 12}, func(s string) { text.WriteString(s) })
	if err != nil {
		t.Fatal(err)
	}
	if ores.OutputTokens != 12 || ores.PromptTokens == 0 || ores.Text != text.String() || ores.FinishReason != "length" {
		t.Fatalf("openai chat: %+v", ores)
	}
	if ores.Text != res.Text { // temperature 0 on the same engine: the same answer
		t.Errorf("native %q vs openai %q", res.Text, ores.Text)
	}
	if _, err := oa.Memory(ctx); !errors.Is(err, ErrNotMeasured) {
		t.Errorf("openai memory: %v", err)
	}
	bad, err := (&OpenAI{BaseURL: srv.URL + "/v1", Model: "no/such:model"}).Start(ctx, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Chat(ctx, ChatRequest{Messages: msgs, MaxTokens: 4}, func(string) {})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := (&OpenAI{BaseURL: "http://" + closedPort(t) + "/v1"}).Start(ctx, Settings{}); err == nil {
		t.Error("dead base URL accepted")
	}
}

// TestLlamaServerLifecycle runs only where llama-server is installed; it says so
// clearly (test log and stdout) when it was not run.
func TestLlamaServerLifecycle(t *testing.T) {
	bin, err := exec.LookPath("llama-server")
	if err != nil {
		msg := "llama-server lifecycle test NOT RUN: llama-server is not on PATH"
		fmt.Println(msg)
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	inst, err := (&LlamaCpp{Binary: bin}).Start(ctx, Settings{ModelPath: testModel(t), ModelID: "fitbench/tiny", GPULayers: 0, Ctx: 512, Parallel: 2, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := inst.Chat(ctx, ChatRequest{Messages: []Message{{Role: "user", Content: "hello"}}, MaxTokens: 8}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if res.Timing == nil || res.Timing.EvalTokens == 0 || inst.Flags()["-np"] != "2" {
		t.Errorf("chat %+v flags %v", res, inst.Flags())
	}
	if m, err := inst.Memory(ctx); err != nil || m.CPUBytes <= 0 {
		t.Errorf("memory %+v %v", m, err)
	}
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inst.Done():
	default:
		t.Fatal("llama-server still running after Stop")
	}
}
