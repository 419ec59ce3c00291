package estimate

import (
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
)

// TestAnalyzeNeverPanicsOnEmptySummary: the estimator is the last line of
// defence behind gguf.Summary.Validate (issue 14 item 1: "slice bounds out of
// range [-1:]" in deviceCompute for a header without block_count).
func TestAnalyzeNeverPanicsOnEmptySummary(t *testing.T) {
	for _, s := range []gguf.Summary{{Architecture: "llama"}, {Architecture: "llama", EmbeddingLength: 64}} {
		for _, gpus := range [][]GPU{nil, {{VRAMBytes: 8 << 30}}} {
			r := Analyze(Input{Summary: s, Target: Target{GPUs: gpus, RAMBytes: 16 << 30}})
			if r.Memory.TotalGB < 0 {
				t.Errorf("negative total for %+v", s)
			}
		}
	}
}
