package analyze_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/analyze"
)

// The analysis carries the command that realises its plan with the model in
// it: a Hub model through llama-server's -hf org/repo:QUANT (and Ollama's
// hf.co/ form), a local file by its absolute path; the JSON field is "command".
func TestAnalysisCommandNamesTheModel(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	res, err := e.analyzer(nil).Analyze(ctx, analyze.Request{Input: "testorg/Mid-GGUF:Q8_0", Hardware: rtx4080})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Command
	if c == nil || !slices.Contains(c.LlamaServer, "-hf") || !slices.Contains(c.LlamaServer, res.InstallID) {
		t.Fatalf("hub command %+v (install id %s)", c, res.InstallID)
	}
	if !strings.Contains(c.OllamaLine, "hf.co/"+res.InstallID) || !strings.Contains(c.LlamaServerLine, "-ngl ") {
		t.Errorf("lines: %s | %s", c.LlamaServerLine, c.OllamaLine)
	}
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"command":{"llama_server":[`) {
		t.Errorf("JSON lacks the command field")
	}
	path := filepath.Join(e.root, "testorg", "Mid-GGUF", "Mid-Q8_0.gguf")
	loc, err := e.analyzer(nil).Analyze(ctx, analyze.Request{Input: path, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(loc.Command.LlamaServer, "-m"); i < 0 || loc.Command.LlamaServer[i+1] != loc.LocalPath {
		t.Errorf("local command %v, path %s", loc.Command.LlamaServer, loc.LocalPath)
	}
}
