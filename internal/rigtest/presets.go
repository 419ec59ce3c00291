package rigtest

import "github.com/fitbench/fitbench/internal/gguf/synth"

// DensePresets are the dense architecture presets (synth.Presets: each a real
// model's config scaled down, its head size, window pattern, fused tensors
// and vocabulary kept) that the vendored llama.cpp loads, for
// TestPresetsOffloadMatchesRig and the offload benchmark; the MoE and hybrid
// architectures run on estimatetest.MoEModels, sized for expert offload.
var DensePresets = []string{"llama-128k", "qwen3-tied", "qwen3", "gemma2", "gemma3", "mistral3", "phi3"}

// PresetSpecs are DensePresets' specs, in order.
func PresetSpecs() ([]synth.Spec, error) {
	specs := make([]synth.Spec, len(DensePresets))
	for i, name := range DensePresets {
		s, err := synth.Preset(name)
		if err != nil {
			return nil, err
		}
		specs[i] = s
	}
	return specs, nil
}
