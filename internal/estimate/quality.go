package estimate

import (
	"math"
	"strings"
)

// kldTable is the mean KL divergence against f16 of llama.cpp quantizations on
// Llama-3-8B (wikitext-2), the loss a quantization adds. Source: REFERENCE.md,
// documented in docs/ESTIMATES.md.
var kldTable = map[string]float64{
	"F32": 0, "F16": 0, "BF16": 0,
	"Q8_0": 0.0014, "Q6_K": 0.0055, "Q5_K_M": 0.011, "Q5_K_S": 0.015, "Q5_0": 0.022, "Q5_1": 0.018,
	"Q4_K_M": 0.031, "IQ4_XS": 0.036, "IQ4_NL": 0.036, "Q4_K_S": 0.043, "Q4_0": 0.072, "Q4_1": 0.06,
	"Q3_K_L": 0.087, "Q3_K_M": 0.10, "IQ3_M": 0.10, "IQ3_S": 0.12, "IQ3_XS": 0.14, "Q3_K_S": 0.23,
	"IQ3_XXS": 0.2, "IQ2_M": 0.33, "IQ2_S": 0.4, "Q2_K": 0.45, "Q2_K_S": 0.5, "IQ2_XS": 0.55,
	"IQ2_XXS": 0.81, "IQ1_M": 1.5, "IQ1_S": 2.2, "MXFP4_MOE": 0.04, "TQ1_0": 2.0, "TQ2_0": 1.5,
}

// QuantKLD returns the table's KLD for a label ("UD-Q4_K_XL" → Q4_K_M-like),
// and whether it was known.
func QuantKLD(label string) (float64, bool) {
	l := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(label), "UD-"))
	if v, ok := kldTable[l]; ok {
		return v, true
	}
	l = strings.Replace(l, "_XL", "_M", 1)
	v, ok := kldTable[l]
	return v, ok
}

// QualityStars is 1–5 from model size and quantization loss. Base by size
// (billions of parameters): <2 → 2, <6 → 3, <20 → 4, ≥20 → 5 stars (bigger
// models know more). The quant's KLD, scaled down for larger models (they lose
// less: Llama-2-70B's ΔPPL% is about a third of 8B's), removes stars:
// KLD_eff = KLD·(8/B)^0.5; ≥0.05 → −1, ≥0.2 → −2, ≥0.6 → −3. Clamped to 1..5.
func QualityStars(params float64, quant string) int {
	b := params / 1e9
	stars := 2
	switch {
	case b >= 20:
		stars = 5
	case b >= 6:
		stars = 4
	case b >= 2:
		stars = 3
	}
	k, ok := QuantKLD(quant)
	if !ok {
		k = 0.05
	}
	if b > 0 {
		k *= math.Sqrt(8 / math.Max(b, 0.5))
	}
	switch {
	case k >= 0.6:
		stars -= 3
	case k >= 0.2:
		stars -= 2
	case k >= 0.05:
		stars--
	}
	return min(max(stars, 1), 5)
}
