package analyze

import (
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
)

// Measurement is one benchmark measured on this machine: the model's files,
// how the engine ran it, and the decode speed it reached.
type Measurement struct {
	Files      []string
	Context    int
	GPULayers  *int // nil: as the plan would choose
	Engine     string
	DecodeTokS float64 // engine-reported decode tok/s at concurrency 1
}

// Calibrate fits the speed model's efficiency factors to this machine's
// measurements (machine is the hardware they ran on, as detected). Models whose
// headers cannot be read are skipped; nil when nothing usable remains.
func Calibrate(ms []Measurement, machine estimate.Target) *estimate.Calibration {
	var samples []estimate.Measured
	for _, m := range ms {
		if m.DecodeTokS <= 0 || len(m.Files) == 0 {
			continue
		}
		files := make([]*gguf.File, 0, len(m.Files))
		for _, p := range m.Files {
			f, err := gguf.ReadFile(p)
			if err != nil {
				files = nil
				break
			}
			files = append(files, f)
		}
		if files == nil {
			continue
		}
		sum, err := gguf.MergeSummaries(files)
		if err != nil || sum.Validate() != nil {
			continue
		}
		in := estimate.Input{Summary: sum, Engine: m.Engine, Context: m.Context, Target: machine, GPULayers: m.GPULayers}
		samples = append(samples, estimate.Measured{Inputs: estimate.SpeedInputsFor(in), DecodeTokS: m.DecodeTokS})
	}
	if len(samples) == 0 {
		return nil
	}
	c := estimate.Calibrate(samples)
	return &c
}
