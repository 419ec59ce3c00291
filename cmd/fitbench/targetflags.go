package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/hardware"
)

// targetFlags are the hardware-target flags shared by analyze and hw.
type targetFlags struct {
	gpu, vram, split *string
	gpus             *int
	ram              *float64
	cpuOnly          *bool
}

func addTargetFlags(fs *flag.FlagSet) *targetFlags {
	return &targetFlags{
		gpu:     fs.String("gpu", "", `target GPU by name as you would type it or nvidia-smi prints it ("RTX 4080", "3060 Laptop", "M3 Max 64GB"), or a list ("4090,3090")`),
		vram:    fs.String("vram", "", "GPU memory in GiB: one size for every GPU, or one per GPU (\"24,12\"); for Apple Silicon, the Mac's memory"),
		gpus:    fs.Int("gpus", 0, "number of GPUs (copies of the one --gpu or --vram given; or the first N detected)"),
		split:   fs.String("tensor-split", "", `share of layers per GPU, like llama.cpp --tensor-split ("3,1"); default: proportional to free memory`),
		ram:     fs.Float64("ram", 0, "system RAM in GiB (when it cannot be detected, or to plan another machine)"),
		cpuOnly: fs.Bool("cpu-only", false, "analyse for the CPU only"),
	}
}

// override parses the flags into a hardware.Override; bad numbers are usage errors.
func (f *targetFlags) override() (hardware.Override, error) {
	o := hardware.Override{GPU: *f.gpu, GPUs: *f.gpus, RAMGB: *f.ram, CPUOnly: *f.cpuOnly}
	sizes, err := floatList("--vram", *f.vram)
	if err != nil {
		return o, err
	}
	if len(sizes) == 1 {
		o.VRAMGB = sizes[0]
	} else {
		o.VRAMList = sizes
	}
	if o.TensorSplit, err = floatList("--tensor-split", *f.split); err != nil {
		return o, err
	}
	if o.GPUs < 0 || o.RAMGB < 0 {
		return o, fmt.Errorf("%w: --gpus and --ram take positive numbers", errUsage)
	}
	return o, nil
}

func floatList(flagName, s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(p)), "GB")), 64)
		if err != nil || !(v >= 0 && v <= 1e6) { // negative, NaN, Inf
			return nil, fmt.Errorf("%w: %s %q: give numbers separated by commas, e.g. 24,12", errUsage, flagName, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// shareText is GPU i's share of the layer split, for reports.
func shareText(t estimate.Target, i int) string {
	if len(t.GPUs) < 2 {
		return ""
	}
	var total float64
	w := make([]float64, len(t.GPUs))
	custom := false
	for _, g := range t.GPUs {
		custom = custom || g.Split > 0
	}
	for j, g := range t.GPUs {
		switch {
		case custom:
			w[j] = g.Split
		case g.FreeBytes > 0:
			w[j] = float64(g.FreeBytes)
		default:
			w[j] = float64(g.VRAMBytes)
		}
		total += w[j]
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf(", %.0f%% of the layer split", 100*w[i]/total)
}

func orDashF(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', -1, 64) + " TFLOPS"
}
