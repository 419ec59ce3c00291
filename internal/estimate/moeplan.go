package estimate

import (
	"cmp"
	"fmt"
)

// MoESplitCost is the per-token cost of one GPU↔CPU boundary inside a block
// whose experts are on the CPU: at decode only one token's activations
// (n_embd floats) cross, so it is a synchronisation, not a transfer. 0.2 ms is
// an assumption (not measured here: no GPU on this machine); SplitCost (5 ms)
// is the whole-layer split of REFERENCE.md, which includes the hidden-state
// transfer of a prompt batch.
const MoESplitCost = 0.0002

// MoEPlan is the expert-offload alternative to whole-layer -ngl for a MoE
// model: every block's attention, norms, router and shared experts and the
// output layer stay on the GPU(s); the expert tensors (ffn_{gate,up,down}_exps)
// of the first CPUMoELayers blocks live in system RAM (llama-server
// --n-cpu-moe N, i.e. -ot "blk\.(0|…|N−1)\.ffn_(up|down|gate)_(ch|)exps=CPU",
// common/common.h llm_ffn_exps_block_regex). A token reads only its
// ExpertUsedCount of ExpertCount experts, so the CPU side reads
// (used/count) × the CPU experts' bytes per token at system-RAM bandwidth.
type MoEPlan struct {
	CPUMoELayers int      `json:"cpu_moe_layers"`
	Devices      []Device `json:"devices"` // GPUs first, CPU last
	Fits         bool     `json:"fits"`
	// CPUExpertBytes is the expert weight bytes held in system RAM;
	// CPUActiveBytes the part of them a token reads.
	CPUExpertBytes      uint64  `json:"cpu_expert_bytes"`
	CPUActiveBytes      uint64  `json:"cpu_active_bytes"`
	EstimatedThroughput float64 `json:"estimated_throughput"`  // decode tok/s, one sequence
	LayerPlanThroughput float64 `json:"layer_plan_throughput"` // the -ngl plan's, for comparison
	LayerPlanGPULayers  int     `json:"layer_plan_gpu_layers"` // that plan's -ngl
	Recommended         bool    `json:"recommended"`           // faster than the -ngl plan and fits
	Explanation         string  `json:"explanation"`
}

// planMoE finds the smallest N for which the expert-offload plan fits the GPUs
// with the safety margin, and its speed. nil when the model has no experts or
// there is no GPU, or when the whole model already fits (nothing to offload).
func planMoE(in Input, layerPlan llamaPlan, layerSpeed float64) *MoEPlan {
	s := in.Summary
	nL := s.BlockCount
	if s.ExpertCount == 0 || len(in.Target.GPUs) == 0 || len(s.ExpertLayerBytes) < nL {
		return nil
	}
	if layerPlan.ngl == nL+1 && gpusFit(layerPlan, in) {
		return nil
	}
	moved := 0 // blocks whose experts go to the CPU at this n
	for n := 1; n <= nL; n++ {
		if s.ExpertLayerBytes[n-1] == 0 && n < nL {
			// a dense block (deepseek2's leading_dense_block_count): its
			// pattern matches nothing, --n-cpu-moe n is n−1 plus a no-op
			continue
		}
		if s.ExpertLayerBytes[n-1] > 0 {
			moved++
		}
		p := moveExperts(in, n)
		if !gpusFit(p, in) && n < nL {
			continue
		}
		m := &MoEPlan{CPUMoELayers: n, Devices: p.devices, Fits: gpusFit(p, in), LayerPlanThroughput: round1(layerSpeed), LayerPlanGPULayers: layerPlan.ngl}
		for il := 0; il < n; il++ {
			m.CPUExpertBytes += s.ExpertLayerBytes[il]
		}
		m.CPUActiveBytes = m.CPUExpertBytes * uint64(max(s.ExpertUsedCount, 1)) / uint64(s.ExpertCount)
		si := moeSpeedInputs(in, p, n)
		t0 := DefaultT0 + float64(2*moved)*MoESplitCost
		m.EstimatedThroughput = round1(EstimateSpeed(si, 1, DefaultGPUEta, DefaultCPUEta, t0).DecodeTokS)
		// a -ngl the user gave stays the plan; the MoE plan is still shown
		m.Recommended = m.Fits && m.EstimatedThroughput > layerSpeed && in.GPULayers == nil
		m.Explanation = fmt.Sprintf("--n-cpu-moe %d: experts of blocks 0–%d in system RAM (%.2f GB, %.2f GB read per token), everything else on the GPU",
			n, n-1, float64(m.CPUExpertBytes)/GB, float64(m.CPUActiveBytes)/GB)
		return m
	}
	return nil
}

// moveExperts is the full-offload plan with the expert tensors of the first n
// blocks in system RAM (llama-server --n-cpu-moe n). The weights move byte for
// byte; every compute buffer is the scheduler replay's (sched.go) with those
// tensors in host memory, which reproduces what the rig measured
// (internal/rigtest TestMoEOffloadMatchesRig) by construction:
//
//   - ggml_backend_sched offloads an op whose weight is in a host buffer to
//     the first GPU that wants it (ggml-backend.cpp,
//     ggml_backend_sched_backend_id_from_cur; CUDA's offload_op takes
//     MUL_MAT_ID at ≥ 32 tokens), so the prompt's expert matmuls run on GPU0
//     and the CPU's buffer stays the graph inputs; a decoded token's run on
//     the CPU, with activations of a few KB;
//   - GPU0's buffer holds the copies of the expert weights those ops read,
//     each allocated at its split's start and freed after its last reader —
//     where the allocator finds room for them is the replay's, not a bound;
//   - tensor overrides turn pipeline parallelism off on two or more GPUs
//     (planLlamaPlaced), the ×4 copies go with it.
func moveExperts(in Input, n int) llamaPlan {
	s := in.Summary
	nL := s.BlockCount
	cpu := len(in.Target.GPUs)
	p := planLlamaPlaced(in, nL+1, func(t *gtensor) int {
		if t.expert && t.layer < n {
			return cpu
		}
		return -1
	})
	split := splitByFree(in.Target.GPUs)
	for il := 0; il < n && il < len(s.ExpertLayerBytes); il++ {
		e := s.ExpertLayerBytes[il]
		d := layerDevice(il, nL, nL+1, split)
		if d < 0 {
			continue
		}
		p.devices[d].WeightsBytes -= min(e, p.devices[d].WeightsBytes)
		p.devices[cpu].WeightsBytes += e
	}
	for i := range p.devices {
		d := &p.devices[i]
		d.TotalBytes = d.WeightsBytes + d.KVBytes + d.ComputeBytes + d.OutputBytes + d.OverheadBytes
	}
	return p
}

// offloadMinBatch is the batch from which CUDA's offload_op moves an op on
// host-resident weights to the GPU (ggml-cuda.cu, op_offload_min_batch_size
// default 32; the simulated device uses the same).
const offloadMinBatch = 32

// moeSpeedInputs: the GPU reads every block's dense part, the used share of
// its experts, the KV and the output; the CPU the used share of its experts.
// Each CPU-expert block is two graph splits (GPU→CPU→GPU).
func moeSpeedInputs(in Input, p llamaPlan, n int) SpeedInputs {
	s := in.Summary
	si := speedInputs(in, p) // full offload: everything counted on the GPU
	for il := 0; il < n; il++ {
		active := float64(s.ExpertLayerBytes[il]) * float64(max(s.ExpertUsedCount, 1)) / float64(s.ExpertCount)
		si.GPUBytes -= active
		si.CPUBytes += active
	}
	si.Splits = 0 // the split latency is MoESplitCost per boundary, added by planMoE
	if s.TensorBytes > 0 {
		si.CPUParams = si.CPUBytes * float64(s.ParamCount) / float64(s.TensorBytes)
		si.CPUParamRate = float64(cmp.Or(in.Target.CPUThreads, DefaultCPUThreads)) * cpuRate(s.QuantLabel)
	}
	return si
}
