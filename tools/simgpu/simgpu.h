// simgpu: a simulated GPU for ggml (fitbench's offload rig).
//
// Each device presents itself to ggml exactly as a discrete GPU does: device
// type GPU, its own buffer type ("SIMGPUn", not a host buffer; alignment 128 and
// quantized-row padding to 512 like CUDA's, max size unlimited like CUDA's), a
// host buffer type for staging ("SIMGPU_Host", like CUDA_Host), free/total
// memory that shrinks with every allocation, and an allocation beyond the free
// memory fails (the buffer type returns NULL, as cudaMalloc's out of memory
// does). supports_buft / supports_op / offload_op answer as CUDA's do, so the
// scheduler and llama.cpp place tensors and split graphs as on a real GPU.
// Underneath, the buffers are plain host memory and each graph is computed by
// a CPU backend owned by the device's backend stream.
//
// Devices come from FITBENCH_SIMGPU: a comma-separated list, one entry per
// device, each "FREE" or "FREE/TOTAL" in MiB (suffixes K, M, G accepted, e.g.
// "4096,2048" or "96M/128M"). Unset or empty = no devices.
#pragma once

#include "ggml-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

// The registry of simulated devices (created on first call from FITBENCH_SIMGPU).
GGML_BACKEND_API ggml_backend_reg_t ggml_backend_simgpu_reg(void);

// Bookkeeping for the harness: bytes currently allocated on device i, the
// highest it reached, and the number of allocations refused for lack of memory.
struct simgpu_stats {
    size_t allocated;
    size_t peak;
    size_t free_at_start;
    size_t total;
    int    failed_allocs;
    size_t failed_bytes; // the largest refused request
};
GGML_BACKEND_API int  simgpu_device_count(void);
GGML_BACKEND_API bool simgpu_get_stats(int device, struct simgpu_stats * out);

#ifdef __cplusplus
}
#endif
