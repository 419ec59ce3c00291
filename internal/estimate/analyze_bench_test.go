package estimate

import (
	"testing"

	"github.com/fitbench/fitbench/internal/estimate/estimatetest"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// BenchmarkAnalyzeRealPresets times one analysis of every real-sized preset
// header on one 24 GB GPU and on two GPUs (24 + 12 GB) with 64 GB of RAM:
// the fit search, the MoE plans and the scheduler replays they run.
func BenchmarkAnalyzeRealPresets(b *testing.B) {
	var ins []Input
	for _, np := range synth.Presets {
		if !np.Real {
			continue
		}
		sum, err := estimatetest.PresetHeader(b.TempDir(), np.Name)
		if err != nil {
			b.Fatal(err)
		}
		for _, gpus := range [][]GPU{{{VRAMBytes: 24e9}}, {{VRAMBytes: 24e9}, {VRAMBytes: 12e9}}} {
			ins = append(ins, Input{Summary: sum, Engine: EngineLlamaCpp, Context: 8192, Parallel: 1,
				Target: Target{GPUs: gpus, RAMBytes: 64e9}})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, in := range ins {
			Analyze(in)
		}
	}
}
