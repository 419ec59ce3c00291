package batch

import (
	"strconv"
	"strings"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// Snapshot is a job's progress as the CLI bar, the WebSocket and the page
// show it: state, lines done/failed/total, tokens, rate and ETA. Rates are
// measured over the current run (0 when the job is not running).
type Snapshot struct {
	ID           int64   `json:"id"`
	ModelID      string  `json:"model_id"`
	Engine       string  `json:"engine"`
	State        string  `json:"state"`
	Total        int     `json:"total"`
	Done         int     `json:"done"`   // answered (output file)
	Failed       int     `json:"failed"` // in the error file
	Pending      int     `json:"pending"`
	Progress     float64 `json:"progress"` // percent of lines finished
	PromptTokens int64   `json:"prompt_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	LinesPerS    float64 `json:"lines_per_s"`
	OutputTokS   float64 `json:"output_tok_s"`
	ETASeconds   float64 `json:"eta_s"`
	ElapsedS     float64 `json:"elapsed_s"`
	Error        string  `json:"error,omitempty"`
}

// Final reports whether the job will not change any more by itself.
func (s Snapshot) Final() bool {
	return s.State == registry.BatchCompleted || s.State == registry.BatchFailed || s.State == registry.BatchCancelled
}

// SnapshotOf is a stored job's snapshot; a finished job reports its measured
// whole-job rates.
func SnapshotOf(j *registry.BatchJob) Snapshot {
	s := Snapshot{ID: j.ID, ModelID: j.ModelID, Engine: j.Engine, State: j.State, Total: j.TotalLines,
		Done: j.DoneLines, Failed: j.FailedLines, PromptTokens: j.PromptTokens, OutputTokens: j.OutputTokens,
		Error: j.Error}
	s.Pending = max(s.Total-s.Done-s.Failed, 0)
	if s.Total > 0 {
		s.Progress = 100 * float64(s.Done+s.Failed) / float64(s.Total)
	}
	if j.Finished() {
		s.LinesPerS, s.OutputTokS, s.ElapsedS = j.LinesPerS, j.OutputTokS, j.RunSeconds
	}
	return s
}

// ContextPerRequest reads the context each request gets from the engine's
// flags, 0 when they do not say. Ollama's num_ctx is per sequence (the
// server multiplies it by OLLAMA_NUM_PARALLEL: server/sched.go); llama-server's
// -c is shared by its -np slots (tools/server/server.cpp n_ctx_slot), and vLLM's
// --max-model-len bounds each request.
func ContextPerRequest(inst engine.Instance) int {
	f := inst.Flags()
	num := func(keys ...string) int {
		for _, k := range keys {
			if v, ok := f[k]; ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
					return n
				}
			}
		}
		return 0
	}
	switch inst.Engine() {
	case "ollama":
		return num("num_ctx")
	case "llamacpp", "llama-server", "llama.cpp":
		c := num("-c", "--ctx-size", "ctx")
		if np := num("-np", "--parallel"); np > 1 && c > 0 {
			return c / np
		}
		return c
	case "vllm":
		return num("--max-model-len", "max_model_len")
	}
	return 0
}
