package estimate_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// On the real-sized MoE presets (header-only files: Qwen3-30B-A3B,
// gpt-oss-20b, DeepSeek-V3) the predicted llama_params_fit finishes, and
// where it moves experts it does so as llama.cpp's set_ngl_tensor_split_tbo
// writes them: every layer and the output offloaded (when all dense weights
// fit), one override per block for a contiguous run of blocks that ends with
// the model's last, the run's first block possibly partial (UP, GATE or
// ATTN), the rest the experts pattern, all to "CPU" on one GPU.
func TestPredictLlamaFitMoERealPresets(t *testing.T) {
	blk := regexp.MustCompile(`^blk\\.(\d+)\\.(.*)$`)
	for _, name := range []string{"qwen3-30b-a3b", "gpt-oss-20b", "deepseek-v3"} {
		sp, err := synth.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		files, err := synth.Write(t.TempDir(), name, sp)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gguf.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.Summary()
		if err != nil {
			t.Fatal(err)
		}
		moved := 0
		for _, vram := range []uint64{8 << 30, 16 << 30, 24 << 30} {
			in := estimate.Input{Summary: s, Engine: estimate.EngineLlamaCpp,
				Target: estimate.Target{GPUs: []estimate.GPU{{VRAMBytes: vram, BandwidthGBs: 1000}}, RAMBytes: 512 << 30}}
			fit := estimate.PredictLlamaFit(estimate.LlamaFitInput{In: in})
			label := fmt.Sprintf("%s/%dGiB", name, vram>>30)
			t.Logf("%s: n_ctx %d ngl %d, %d overrides: %s", label, fit.NCtx, fit.NGPULayers, len(fit.Overrides), fit.Note)
			if fit.Aborted != "" {
				t.Errorf("%s: aborted: %s", label, fit.Aborted)
				continue
			}
			if len(fit.Overrides) == 0 {
				continue
			}
			moved++
			first := -1
			for i, o := range fit.Overrides {
				m := blk.FindStringSubmatch(o.Pattern)
				if m == nil || o.Buft != "CPU" {
					t.Fatalf("%s: override %+v", label, o)
				}
				il, _ := strconv.Atoi(m[1])
				if i == 0 {
					first = il
				} else if il != first+i || m[2] != `ffn_(up|down|gate)_(ch|)exps` {
					t.Errorf("%s: override %d is %q", label, i, o.Pattern)
				}
			}
			if last := first + len(fit.Overrides) - 1; last != s.BlockCount-1 {
				t.Errorf("%s: the overrides end at block %d, not the last (%d)", label, last, s.BlockCount-1)
			}
			if fit.NGPULayers != s.BlockCount+1 && fit.NGPULayers != len(fit.Overrides) {
				t.Errorf("%s: -ngl %d: neither every layer with the output nor the dense-only layers", label, fit.NGPULayers)
			}
		}
		if moved == 0 {
			t.Errorf("%s: no GPU size made llama_params_fit move experts", name)
		}
	}
}
