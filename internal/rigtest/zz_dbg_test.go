package rigtest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
)

func TestZZDbg(t *testing.T) {
	f, _ := gguf.ReadFile(os.Getenv("ZZ_MODEL"))
	sum, _ := f.Summary()
	fa := os.Getenv("ZZ_FA") != "off"
	base := estimate.Input{Summary: sum, Engine: estimate.EngineLlamaCpp, Context: 1024, Parallel: 2, CacheType: os.Getenv("ZZ_CT"), SafetyMargin: Margin}
	if os.Getenv("ZZ_NP1") != "" {
		base.Context, base.Parallel = 2048, 1
	}
	if !fa {
		base.FlashAttention = &fa
	}
	for _, sc := range Scenarios(base) {
		if sc.Name != os.Getenv("ZZ_SCEN") {
			continue
		}
		in := base
		in.Target = estimate.Target{GPUs: sc.GPUs, RAMBytes: RAM}
		fmt.Println("=== ANALYZE", Env(SimGPUs(sc.GPUs)))
		r := estimate.Analyze(in)
		fmt.Println("=== ARGS", strings.Join(estimate.LlamaServerArgs(r, in, "M"), " "))
		for _, d := range r.Memory.Devices {
			fmt.Println("=== DEV", d.Name, d.ComputeBytes)
		}
	}
}
