package estimate

import (
	"math"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
)

func sum(xs []uint64) (t uint64) {
	for _, x := range xs {
		t += x
	}
	return
}

func toy(layers int) gguf.Summary {
	hkv := make([]int, layers)
	lb := make([]uint64, layers)
	for i := range hkv {
		hkv[i] = 8
		lb[i] = 100 << 20
	}
	return gguf.Summary{Architecture: "llama", QuantLabel: "Q4_K_M", ParamCount: 7e9, VocabSize: 32000,
		ContextLength: 32768, EmbeddingLength: 4096, BlockCount: layers, FeedForwardLength: 14336,
		HeadCount: 32, HeadCountKV: hkv, KeyLength: 128, ValueLength: 128, LayerBytes: lb,
		TokenEmbdBytes: 70 << 20, OutputBytes: 100 << 20, TensorBytes: uint64(layers)*100<<20 + 170<<20}
}

func TestKVCache(t *testing.T) {
	s := toy(4)
	l := layout(8192, 1, 512)
	// 4 layers × 8192 cells × (8×128 K + 8×128 V) × 2 bytes
	if got, want := sum(kvLayerBytes(s, l, "f16", true, false)), uint64(4*8192*2048*2); got != want {
		t.Fatalf("f16 kv %d want %d", got, want)
	}
	if got, want := sum(kvLayerBytes(s, l, "q8_0", true, false)), uint64(4*8192*2*(1024/32*34)); got != want {
		t.Fatalf("q8_0 kv %d want %d", got, want)
	}
	if got, want := sum(kvLayerBytes(s, l, "q4_0", true, false)), uint64(4*8192*2*(1024/32*18)); got != want {
		t.Fatalf("q4_0 kv %d want %d", got, want)
	}
	// per-layer array with a layer without attention
	s.HeadCountKV = []int{8, 0, 2, 8}
	got := kvLayerBytes(s, l, "f16", true, false)
	if got[1] != 0 || got[2] != got[0]/4 {
		t.Fatalf("per-layer kv %v", got)
	}
	// sliding window: layer 0 holds min(n_ctx, swa + ubatch) padded to 256
	s.HeadCountKV = []int{8, 8, 8, 8}
	s.SlidingWindow, s.SlidingLayers = 1024, []bool{true, false, true, false}
	got = kvLayerBytes(s, l, "f16", true, false)
	if got[0] != uint64(1536*2048*2) || got[1] != uint64(8192*2048*2) {
		t.Fatalf("swa kv %v", got)
	}
	if full := kvLayerBytes(s, l, "f16", true, true); full[0] != full[1] {
		t.Fatalf("swa_full should charge full cells: %v", full)
	}
	// parallel: Ollama passes num_ctx × parallel; cells are per stream
	l4 := layout(2048, 4, 512)
	if l4.NCtx != 8192 || l4.NCtxSeq != 2048 {
		t.Fatalf("layout %+v", l4)
	}
	if l := layout(1000, 1, 512); l.NCtx != 1024 || l.NUbatch != 512 {
		t.Fatalf("padding %+v", l)
	}
}

func TestNGLSemantics(t *testing.T) {
	one := []float64{1}
	cases := []struct {
		ngl, wantBlocks int
		out             bool
	}{
		{0, 0, false}, {1, 1, false}, {4, 4, false}, {5, 4, true}, {6, 4, true},
	}
	for _, c := range cases {
		blocks := 0
		for il := 0; il < 4; il++ {
			if layerDevice(il, 4, c.ngl, one) >= 0 {
				blocks++
			}
		}
		if layerDevice(3, 4, c.ngl, one) < 0 && c.ngl > 0 {
			t.Errorf("ngl %d: the last block goes first", c.ngl)
		}
		if blocks != c.wantBlocks || (layerDevice(4, 4, c.ngl, one) >= 0) != c.out {
			t.Errorf("ngl %d: blocks %d output %v", c.ngl, blocks, layerDevice(4, 4, c.ngl, one) >= 0)
		}
	}
	// two GPUs split 3:1 by free memory
	split := splitByFree([]GPU{{VRAMBytes: 24 << 30}, {VRAMBytes: 8 << 30}})
	var n [2]int
	for il := 0; il <= 8; il++ {
		n[layerDevice(il, 8, 9, split)]++
	}
	if n[0] != 7 || n[1] != 2 {
		t.Fatalf("multi-GPU split %v", n)
	}
}

func TestAnalyzeOffloadPlan(t *testing.T) {
	s := toy(32)
	gpu := GPU{Name: "RTX 4080", VRAMBytes: 16 << 30, BandwidthGBs: 716.8, FP16TFLOPS: 48.7}
	r := Analyze(Input{Summary: s, Target: Target{GPUs: []GPU{gpu}, RAMBytes: 64 << 30, CPUBandwidth: 50}})
	if r.Verdict != VerdictFits || r.GPULayers != 33 || r.Context != 8192 {
		t.Fatalf("7B Q4 on 16 GB: %+v", r)
	}
	small := gpu
	small.VRAMBytes = 2 << 30
	r = Analyze(Input{Summary: s, Target: Target{GPUs: []GPU{small}, RAMBytes: 64 << 30, CPUBandwidth: 50}})
	if r.Verdict != VerdictFitsOffload || r.GPULayers <= 0 || r.GPULayers >= 33 || r.Memory.CPUOffloadGB <= 0 {
		t.Fatalf("2 GB GPU: verdict %s ngl %d offload %.2f", r.Verdict, r.GPULayers, r.Memory.CPUOffloadGB)
	}
	gpuTot := r.Memory.Devices[0].TotalBytes
	if gpuTot+small.VRAMBytes/20 > small.VRAMBytes {
		t.Fatalf("plan exceeds GPU: %d", gpuTot)
	}
	if len(r.Advice) == 0 || r.Performance.OffloadPenalty <= 0 {
		t.Fatalf("offload advice/penalty missing: %+v", r)
	}
	r = Analyze(Input{Summary: s, Target: Target{GPUs: []GPU{small}, RAMBytes: 1 << 30}})
	if r.Verdict != VerdictNoFit {
		t.Fatalf("1 GB RAM: %s", r.Verdict)
	}
	r = Analyze(Input{Summary: s, Target: Target{RAMBytes: 64 << 30, CPUBandwidth: 40}})
	if r.Verdict != VerdictFits || len(r.Notes) == 0 || r.Memory.Devices[0].Name != "CPU" {
		t.Fatalf("cpu-only: %+v", r)
	}
	// logits live in host memory
	r = Analyze(Input{Summary: s, Target: Target{GPUs: []GPU{gpu}, RAMBytes: 64 << 30}})
	if r.Memory.Devices[0].OutputBytes != 0 || r.Memory.Devices[1].OutputBytes != 32000*4 {
		t.Fatalf("output buffer placement: %+v", r.Memory.Devices)
	}
}

func TestVLLM(t *testing.T) {
	s := toy(32)
	in := Input{Summary: s, Engine: EngineVLLM, Context: 8192,
		Target: Target{GPUs: []GPU{{VRAMBytes: 16 << 30}}, RAMBytes: 64 << 30}}
	r := Analyze(in)
	if r.VLLM == nil || r.VLLM.CPUOffloadGB != 0 || r.VLLM.MaxConcurrency < 1 {
		t.Fatalf("vllm 16GB: %+v", r.VLLM)
	}
	in.Target.GPUs[0].VRAMBytes = 4 << 30
	r = Analyze(in)
	v := r.VLLM
	need := float64(v.WeightsBytes+v.ActivationBytes+v.ContextBytes+v.KVPerSeqBytes-v.BudgetBytes) / GB
	if v.CPUOffloadGB < need || v.CPUOffloadGB > need+0.1 || r.Verdict != VerdictFitsOffload {
		t.Fatalf("offload %.2f for shortfall %.2f (%s)", v.CPUOffloadGB, need, v.Explanation)
	}
}

func TestHeuristic(t *testing.T) {
	r := AnalyzeHeuristic(HeuristicInput{ParamsB: 7, SizeBytes: 4.23e9, Quant: "Q4_0", AvailableGB: 16})
	if r.Source != SourceHeuristic || math.Abs(r.Memory.KVCacheGB-3.22) > 0.01 || math.Abs(r.Memory.OverheadGB-2.35) > 0.01 {
		t.Fatalf("heuristic memory %+v", r.Memory)
	}
	if r.Performance.EstimatedThroughput != 700 || !r.FitsWithoutOffload {
		t.Fatalf("heuristic perf %+v", r.Performance)
	}
	r = AnalyzeHeuristic(HeuristicInput{ParamsB: 20, SizeBytes: 12e9, Quant: "Q4_K_M", AvailableGB: 16})
	// total 12 + 9.2 + 3 = 24.2 → offload 10.2, penalty 0.95 cap? 10.2/10 → 0.95
	if r.Memory.CPUOffloadGB != 10.2 || r.Performance.OffloadPenalty != 0.95 {
		t.Fatalf("heuristic offload %+v %+v", r.Memory, r.Performance)
	}
}

func TestQualityAndRecommend(t *testing.T) {
	if QualityStars(70e9, "Q4_K_M") != 5 || QualityStars(8e9, "Q8_0") != 4 || QualityStars(8e9, "Q2_K") != 2 || QualityStars(0.5e9, "IQ1_S") != 1 {
		t.Fatal("stars", QualityStars(70e9, "Q4_K_M"), QualityStars(8e9, "Q8_0"), QualityStars(8e9, "Q2_K"))
	}
	if QualityStars(8e9, "Q4_K_M") < QualityStars(8e9, "Q3_K_M") {
		t.Fatal("stars not monotone")
	}
	rs := []Report{
		{Quantization: "Q4_K_M", Verdict: VerdictFits, Performance: Performance{EstimatedThroughput: 120}},
		{Quantization: "Q5_K_M", Verdict: VerdictFits, Performance: Performance{EstimatedThroughput: 100}},
		{Quantization: "Q8_0", Verdict: VerdictFitsOffload, Performance: Performance{EstimatedThroughput: 20}},
		{Quantization: "F16", Verdict: VerdictFitsOffload, Performance: Performance{EstimatedThroughput: 2}},
	}
	rec := Recommend(rs)
	if rec.BestFull.Quantization != "Q5_K_M" || rec.BestOffload.Quantization != "Q8_0" {
		t.Fatalf("recommend %+v %+v", rec.BestFull, rec.BestOffload)
	}
}

func TestCalibrate(t *testing.T) {
	// synthetic CPU machine: η=0.5 on 40 GB/s, t0 = 2 ms
	var ms []Measured
	for _, gbs := range []float64{0.1, 0.5, 1, 2} {
		in := SpeedInputs{CPUBytes: gbs * GB, CPUBandwidth: 40}
		t := gbs/(0.5*40) + 0.002
		ms = append(ms, Measured{Inputs: in, DecodeTokS: 1 / t})
	}
	c := Calibrate(ms)
	if math.Abs(c.CPUEta-0.5) > 1e-6 || math.Abs(c.T0-0.002) > 1e-9 || c.Samples != 4 {
		t.Fatalf("calibration %+v", c)
	}
	one := Calibrate(ms[2:3])
	if one.CPUEta <= 0 || one.Samples != 1 {
		t.Fatalf("one-sample %+v", one)
	}
	if d := Calibrate(nil); d.CPUEta != DefaultCPUEta {
		t.Fatal("defaults")
	}
}

func TestCompare(t *testing.T) {
	c := Compare(700, []Installed{{"Gemma 3 4B", 2511}, {"Qwen 3 4B", 1533}, {"Tiny", 500}, {"Untested", 0}})
	want := []string{"3.6× slower", "2.2× slower", "1.4× faster", "NEW"}
	for i, w := range want {
		if c.Comparisons[i].Label != w {
			t.Errorf("row %d label %q want %q", i, c.Comparisons[i].Label, w)
		}
	}
	if c.TotalModels != 4 || c.Comparisons[0].Ratio != 0.28 || c.Comparisons[0].Faster {
		t.Fatalf("%+v", c.Comparisons[0])
	}
}

// On a CPU, F16 at a quarter of Q8_0's speed for a KL-divergence difference of
// 0.0014 is not what a person picks: Q8_0 is recommended, with the reason.
func TestRecommendTakesFasterWithinJND(t *testing.T) {
	rep := func(q string, tokS, gb float64, v string) Report {
		return Report{Quantization: q, Verdict: v, Performance: Performance{EstimatedThroughput: tokS}, Memory: Memory{ModelGB: gb}}
	}
	rec := Recommend([]Report{rep("F16", 5, 16, VerdictFits), rep("Q8_0", 20, 8.5, VerdictFits), rep("Q4_K_M", 35, 4.9, VerdictFits)})
	if rec.BestFull == nil || rec.BestFull.Quantization != "Q8_0" || !strings.Contains(rec.BestFull.Reason, "Q8_0 over F16") ||
		!strings.Contains(rec.BestFull.Reason, "4.0× faster") || !strings.Contains(rec.BestFull.Reason, "47% smaller") || strings.Contains(rec.BestFull.Reason, "\n") {
		t.Fatalf("best full %+v", rec.BestFull)
	}
	// Q4_K_M is faster still, but 0.0296 more KLD is a noticeable loss.
	// Q6_K is within the JND of Q8_0 but not of F16: from F16 it is not taken.
	rec = Recommend([]Report{rep("F16", 5, 16, VerdictFits), rep("Q6_K", 25, 6.6, VerdictFits)})
	if rec.BestFull.Quantization != "F16" || rec.BestFull.Reason != "highest quality that fits entirely on the target" {
		t.Fatalf("F16 vs Q6_K: %+v", rec.BestFull)
	}
	// The best quality that is also the fastest keeps the plain reason; equal
	// speed goes to the smaller file.
	rec = Recommend([]Report{rep("Q8_0", 20, 8.5, VerdictFits), rep("F16", 20, 16, VerdictFits)})
	if rec.BestFull.Quantization != "Q8_0" || !strings.Contains(rec.BestFull.Reason, "as fast and 47% smaller") {
		t.Fatalf("equal speed: %+v", rec.BestFull)
	}
	// An offloaded variant only a JND better than the full fit is not offered.
	rec = Recommend([]Report{rep("Q8_0", 20, 8.5, VerdictFits), rep("F16", 8, 16, VerdictFitsOffload)})
	if rec.BestOffload != nil {
		t.Fatalf("offload pick %+v for a 0.0014 KLD gain", rec.BestOffload)
	}
}
