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
	full := planLlama(in, nL+1)
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
		p := moveExperts(in, full, n)
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

// moveExperts takes the full-offload plan and moves the expert tensors of the
// first n blocks to the CPU (llama-server --n-cpu-moe n). Compute, as the rig
// measured it (internal/rigtest TestMoEOffloadMatchesRig):
//
//   - the CPU's compute buffer does not grow: it stays the graph inputs of
//     applyOffloadRules. ggml_backend_sched offloads an op whose weight is in
//     a host buffer to the first GPU that wants it (ggml-backend.cpp,
//     ggml_backend_sched_backend_id_from_cur; CUDA's offload_op takes
//     MUL_MAT_ID at ≥ 32 tokens, get_op_batch_size = ne[2]), so the prompt
//     batch's expert matmuls run on GPU0, not on the CPU; a decoded token's
//     run on the CPU but its activations are a few KB;
//   - GPU0's compute buffer grows by the copy of the weight those offloaded
//     ops read: one expert matrix at a time (the scheduler copies each split's
//     inputs into the compute buffer, where ggml-alloc reuses the memory), so
//     the largest single expert tensor of a CPU block — a third of its expert
//     bytes, since gate, up and down have one shape (measured +4.7 MB =
//     one 128 × 256 × 256 Q4_0 tensor on moe-qwen3);
//   - with two or more GPUs tensor overrides disable pipeline parallelism
//     (llama_context: pipeline parallelism needs no -ot), so the ×4 copies of
//     applyOffloadRules are undone.
func moveExperts(in Input, full llamaPlan, n int) llamaPlan {
	s := in.Summary
	p := full
	p.devices = append([]Device(nil), full.devices...)
	cpu := len(p.devices) - 1
	split := splitByFree(in.Target.GPUs)
	var largest uint64
	for il := 0; il < n; il++ {
		e := s.ExpertLayerBytes[il]
		largest = max(largest, e/3)
		d := layerDevice(il, s.BlockCount, s.BlockCount+1, split)
		if d < 0 {
			continue
		}
		p.devices[d].WeightsBytes -= min(e, p.devices[d].WeightsBytes)
		p.devices[cpu].WeightsBytes += e
	}
	if len(in.Target.GPUs) >= 2 && n > 0 {
		for i := range p.devices {
			if i < len(full.computeSingle) {
				p.devices[i].ComputeBytes = full.computeSingle[i]
			} else {
				p.devices[i].ComputeBytes /= pipelineCopies
			}
		}
	}
	if ub := cmp.Or(in.NUbatch, 512); ub >= offloadMinBatch && cpu > 0 {
		p.devices[0].ComputeBytes += largest
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
