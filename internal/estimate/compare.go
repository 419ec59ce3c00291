package estimate

import (
	"fmt"
	"math"
)

// Installed is an installed model's measured (or estimated) speed.
type Installed struct {
	Name       string  `json:"model_name"`
	Throughput float64 `json:"throughput"`
}

// ComparisonRow is one installed model against the candidate.
type ComparisonRow struct {
	ModelName  string  `json:"model_name"`
	Throughput float64 `json:"throughput"`
	Ratio      float64 `json:"ratio"`  // candidate / installed
	Faster     bool    `json:"faster"` // candidate is faster
	Label      string  `json:"label"`  // "3.6× slower", "1.4× faster", "NEW"
}

// Comparison is the original design's comparison block.
type Comparison struct {
	TotalModels int             `json:"total_models"`
	Comparisons []ComparisonRow `json:"comparisons"`
}

// Compare rates the candidate's tok/s against installed models. An installed
// model with no throughput yet is labelled "NEW".
func Compare(candidateTokS float64, installed []Installed) Comparison {
	c := Comparison{TotalModels: len(installed), Comparisons: []ComparisonRow{}}
	for _, m := range installed {
		row := ComparisonRow{ModelName: m.Name, Throughput: m.Throughput}
		switch {
		case m.Throughput <= 0 || candidateTokS <= 0:
			row.Label = "NEW"
		default:
			row.Ratio = round2(candidateTokS / m.Throughput)
			row.Faster = candidateTokS > m.Throughput
			if row.Faster {
				row.Label = fmt.Sprintf("%.1f× faster", candidateTokS/m.Throughput)
			} else if math.Abs(candidateTokS-m.Throughput) < 1e-9 {
				row.Label = "same"
			} else {
				row.Label = fmt.Sprintf("%.1f× slower", m.Throughput/candidateTokS)
			}
		}
		c.Comparisons = append(c.Comparisons, row)
	}
	return c
}
