package rigtest

import "github.com/fitbench/fitbench/internal/gguf/synth"

// DensePresets are the dense architecture presets (synth.Presets: each a real
// model's config scaled down, its head size, window pattern, fused tensors
// and vocabulary kept) that the vendored llama.cpp loads, for
// TestPresetsOffloadMatchesRig and the offload benchmark.
var DensePresets = []string{"llama-128k", "qwen3-tied", "qwen3", "gemma2", "gemma3", "mistral3", "phi3"}

// MoEPresets are the MoE and hybrid presets the vendored llama.cpp loads
// (TestMoEPresetsOffloadMatchesRig), on the same device setups as the dense
// ones; estimatetest.MoEModels, sized for expert offload, run the
// --n-cpu-moe plans. Not loaded by the vendored llama.cpp, for reasons in
// that llama.cpp (docs/ESTIMATES.md): lfm2, nemotron_h, and gptoss (Ollama's
// name for gpt-oss).
var MoEPresets = []string{"qwen3moe", "deepseek2-lite", "deepseek2-v3", "granitehybrid"}

// PresetSpecs are the named presets' specs, in order.
func PresetSpecs(names []string) ([]synth.Spec, error) {
	specs := make([]synth.Spec, len(names))
	for i, name := range names {
		s, err := synth.Preset(name)
		if err != nil {
			return nil, err
		}
		specs[i] = s
	}
	return specs, nil
}
