package estimate

import (
	"math"
	"testing"
)

// Compute buffer sizes printed by llama.cpp (Ollama v0.17.4's runner, CPU,
// n_ubatch 512) for generated llama models: "CPU compute buffer size = X MiB".
func TestComputeGraphMatchesLlamaCpp(t *testing.T) {
	type c struct {
		name                              string
		e, ff, v, h, kv, layers, ctx, par int
		fa                                bool
		mib                               float64
	}
	cases := []c{
		{"base", 256, 688, 1000, 8, 4, 4, 2048, 1, true, 9.36},
		{"base8k", 256, 688, 1000, 8, 4, 4, 8192, 1, true, 26.01},
		{"base256", 256, 688, 1000, 8, 4, 4, 256, 1, true, 2.90},
		{"v16k", 256, 688, 16000, 8, 4, 4, 2048, 1, true, 31.75},
		{"ff2752", 256, 2752, 1000, 8, 4, 4, 2048, 1, true, 24.14},
		{"e512", 512, 688, 1000, 8, 4, 4, 2048, 1, true, 9.70},
		{"kv8", 256, 688, 1000, 8, 8, 4, 2048, 1, true, 9.36},
		{"h16", 256, 688, 1000, 16, 4, 4, 2048, 1, true, 9.36},
		{"a1", 256, 1376, 1000, 8, 4, 2, 2048, 1, true, 13.39},
		{"a1-4k", 256, 1376, 1000, 8, 4, 2, 4096, 1, true, 16.70},
		{"a1-1k", 256, 1376, 1000, 8, 4, 2, 1024, 1, true, 11.58},
		{"a2", 512, 1376, 1000, 8, 8, 2, 2048, 1, true, 15.08},
		{"a3", 1024, 2816, 8000, 16, 4, 2, 2048, 1, true, 24.51},
		{"a3-8k", 1024, 2816, 8000, 16, 4, 2, 8192, 1, true, 37.51},
		{"a4", 512, 1024, 32000, 8, 2, 2, 2048, 1, true, 63.50},
		{"a4-par4", 512, 1024, 32000, 8, 2, 2, 2048, 4, true, 63.50},
		{"a5", 256, 4096, 1000, 4, 4, 2, 2048, 1, true, 32.01},
		{"a5-8k", 256, 4096, 1000, 4, 4, 2, 8192, 1, true, 34.01},
		{"base-nofa", 256, 688, 1000, 8, 4, 4, 2048, 1, false, 38.51},
		{"base8k-nofa", 256, 688, 1000, 8, 4, 4, 8192, 1, false, 146.51},
		{"h16-nofa", 256, 688, 1000, 16, 4, 4, 2048, 1, false, 70.26},
		{"base-par4-nofa", 256, 688, 1000, 8, 4, 4, 2048, 4, false, 38.51},
		{"a3-nofa", 1024, 2816, 8000, 16, 4, 2, 2048, 1, false, 77.01},
	}
	for _, tc := range cases {
		hkv := make([]int, tc.layers)
		for i := range hkv {
			hkv[i] = tc.kv
		}
		hd := tc.e / tc.h
		T := min(512, tc.ctx)
		got := computeGraphBytes(graphShape{nEmbd: tc.e, nFF: tc.ff, nVocab: tc.v, nHead: tc.h, headKV: hkv,
			keyLen: hd, valLen: hd, nTok: T, nKV: tc.ctx, nStream: tc.par, flashAttn: tc.fa})
		gm := float64(got) / (1 << 20)
		t.Logf("%-15s want %7.2f got %7.2f (%+.1f%%)", tc.name, tc.mib, gm, 100*(gm-tc.mib)/tc.mib)
		if math.Abs(gm-tc.mib)/tc.mib > tol(tc.name) {
			t.Errorf("%s: compute buffer %.2f MiB, llama.cpp printed %.2f MiB", tc.name, gm, tc.mib)
		}
	}
}

// tol is 5%, except for shapes where the replay lands on a different
// fragmentation than llama.cpp (known gap, see docs/ESTIMATES.md).
func tol(name string) float64 {
	switch name {
	case "base256", "a1-1k", "a3":
		return 0.15
	}
	return 0.05
}
