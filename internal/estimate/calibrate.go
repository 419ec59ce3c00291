package estimate

import "math"

// Measured is one benchmark result on this machine with the byte counts the
// speed model used for it (from the same plan).
type Measured struct {
	Inputs     SpeedInputs `json:"inputs"`
	DecodeTokS float64     `json:"decode_tok_s"`
}

// Calibration is η (per side) and t0 fitted to measurements.
type Calibration struct {
	GPUEta  float64 `json:"gpu_eta"`
	CPUEta  float64 `json:"cpu_eta"`
	T0      float64 `json:"t0_s"`
	Samples int     `json:"samples"`
	// RMSRelErr is the fit's root-mean-square relative error on its samples.
	RMSRelErr float64 `json:"rms_rel_err"`
}

// Calibrate fits t = a·gpuBytes + b·cpuWork + t0 (a = 1/(η_g·BW_g), …) by least
// squares on seconds per token. With one sample only η of the dominant side is
// fitted (t0 kept at its default); with none the defaults are returned.
func Calibrate(samples []Measured) Calibration {
	c := Calibration{GPUEta: DefaultGPUEta, CPUEta: DefaultCPUEta, T0: DefaultT0}
	var xs [][3]float64
	var ys []float64
	for _, m := range samples {
		if m.DecodeTokS <= 0 {
			continue
		}
		in := m.Inputs
		var g, cpu float64
		if in.GPUBandwidth > 0 {
			g = (in.GPUBytes + in.GPUKVBytes) / (in.GPUBandwidth * GB)
		}
		cpu = cpuWork(in)
		xs = append(xs, [3]float64{g, cpu, 1})
		ys = append(ys, 1/m.DecodeTokS-float64(in.Splits)*SplitCost)
	}
	c.Samples = len(xs)
	if len(xs) == 0 {
		return c
	}
	useG, useC := false, false
	for _, x := range xs {
		useG = useG || x[0] > 0
		useC = useC || x[1] > 0
	}
	if len(xs) == 1 {
		x, y := xs[0], ys[0]-c.T0
		if y <= 0 {
			y = ys[0] / 2
			c.T0 = ys[0] / 2
		}
		if x[0] >= x[1] && x[0] > 0 {
			c.GPUEta = clampEta((x[0]) / (y - x[1]/c.CPUEta))
		} else if x[1] > 0 {
			c.CPUEta = clampEta(x[1] / (y - x[0]/c.GPUEta))
		}
	} else {
		// columns actually varying: fit inverse-efficiencies and t0
		cols := []int{}
		if useG {
			cols = append(cols, 0)
		}
		if useC {
			cols = append(cols, 1)
		}
		cols = append(cols, 2)
		beta, ok := leastSquares(xs, ys, cols)
		if ok {
			for i, col := range cols {
				switch col {
				case 0:
					if beta[i] > 0 {
						c.GPUEta = clampEta(1 / beta[i])
					}
				case 1:
					if beta[i] > 0 {
						c.CPUEta = clampEta(1 / beta[i])
					}
				case 2:
					c.T0 = math.Max(0, beta[i])
				}
			}
		}
	}
	var se float64
	for i, x := range xs {
		pred := x[0]/c.GPUEta + x[1]/c.CPUEta + c.T0
		r := (pred - ys[i]) / ys[i]
		se += r * r
	}
	c.RMSRelErr = math.Sqrt(se / float64(len(xs)))
	return c
}

func clampEta(e float64) float64 {
	if math.IsNaN(e) || math.IsInf(e, 0) || e <= 0 {
		return DefaultCPUEta
	}
	return math.Min(math.Max(e, 0.05), 1.5)
}

// leastSquares solves the normal equations for the chosen columns.
func leastSquares(xs [][3]float64, ys []float64, cols []int) ([]float64, bool) {
	n := len(cols)
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n+1)
	}
	for r, x := range xs {
		for i, ci := range cols {
			for j, cj := range cols {
				a[i][j] += x[ci] * x[cj]
			}
			a[i][n] += x[ci] * ys[r]
		}
	}
	for i := 0; i < n; i++ {
		p := i
		for k := i + 1; k < n; k++ {
			if math.Abs(a[k][i]) > math.Abs(a[p][i]) {
				p = k
			}
		}
		a[i], a[p] = a[p], a[i]
		if math.Abs(a[i][i]) < 1e-30 {
			return nil, false
		}
		for k := 0; k < n; k++ {
			if k == i {
				continue
			}
			f := a[k][i] / a[i][i]
			for j := i; j <= n; j++ {
				a[k][j] -= f * a[i][j]
			}
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = a[i][n] / a[i][i]
	}
	return out, true
}
