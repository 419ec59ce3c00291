// simgpu: a ggml backend device that behaves like a discrete GPU but computes on
// the CPU. See simgpu.h for what it simulates and FITBENCH_SIMGPU's format.
//
// What each part mirrors in the vendored CUDA backend
// (ml/backend/ggml/ggml/src/ggml-cuda/ggml-cuda.cu of Ollama v0.17.4):
//   - buffer type: get_alignment = CUDA_ALIGNMENT (128); get_max_size NULL
//     (SIZE_MAX); get_alloc_size pads quantized tensors whose ne0 is not a
//     multiple of MATRIX_ROW_PADDING (512) by the missing part of one row;
//     is_host NULL (false); alloc_buffer logs and returns NULL when the device is
//     out of memory (ggml_backend_cuda_buffer_type_alloc_buffer); noalloc_buffer
//     (Ollama's no-alloc measuring pass) returns a buffer without memory.
//   - host buffer type "SIMGPU_Host": a CPU buffer from a pointer whose buft is
//     replaced, like ggml_backend_cuda_host_buffer_type_alloc_buffer.
//   - supports_buft: only this device's own buffer type (not the host type).
//   - offload_op: get_op_batch_size(op) >= 32.
//   - get_props: async and events on, host_buffer on, buffer_from_host_ptr
//     off, as CUDA's: with two or more GPUs and every layer offloaded,
//     llama_context then enables pipeline parallelism (n_copies = 4), which
//     changes the compute buffers. The compute itself is synchronous, so the
//     events are no-ops. FITBENCH_SIMGPU_SYNC=1 reports async/events off.
// supports_op asks the CPU device, since the CPU is what computes: an op the CPU
// cannot compute must not be placed here. (CUDA supports every op llama.cpp's
// graphs use for the dense architectures fitbench generates.)
#include "simgpu.h"

#include "ggml-backend-impl.h"
#include "ggml-cpu.h"
#include "ggml-impl.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kAlignment = 128;         // CUDA_ALIGNMENT
constexpr int64_t kMatrixRowPadding = 512; // MATRIX_ROW_PADDING (ggml-cuda/common.cuh)

struct sim_device {
    int index = 0;
    std::string name;        // "SIMGPU0"
    std::string description; // "fitbench simulated GPU 0 (4096 MiB)"
    std::string id;          // stable id, like a CUDA UUID
    size_t free0 = 0;        // free memory before fitbench allocates anything
    size_t total = 0;
    size_t allocated = 0;
    size_t peak = 0;
    int failed = 0;
    size_t failed_bytes = 0;
    std::mutex mu;
    ggml_backend_buffer_type buft{};
    ggml_backend_device dev{};
};

std::vector<sim_device *> g_devices;
ggml_backend_reg g_reg{};
int g_threads = 0;

// parse_size reads "4096", "96M", "512K", "2G" (MiB when no suffix).
bool parse_size(const std::string & s, size_t * out) {
    if (s.empty()) return false;
    char * end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (errno != 0 || end == s.c_str() || v < 0) return false;
    double mul = 1024.0 * 1024.0;
    std::string suf(end);
    if (suf == "K" || suf == "k") mul = 1024.0;
    else if (suf == "G" || suf == "g") mul = 1024.0 * 1024.0 * 1024.0;
    else if (suf == "B" || suf == "b") mul = 1.0;
    else if (!(suf.empty() || suf == "M" || suf == "m")) return false;
    *out = (size_t)(v * mul);
    return true;
}

// ---- device buffers ----

struct sim_buffer {
    sim_device * dev;
    void * data; // nullptr for a no-alloc (measuring) buffer
    size_t size;
};

void release(sim_device * d, size_t size) {
    std::lock_guard<std::mutex> lk(d->mu);
    d->allocated -= size;
}

void buffer_free(ggml_backend_buffer_t buffer) {
    auto * b = (sim_buffer *)buffer->context;
    if (b->data) {
        std::free(b->data);
        release(b->dev, b->size);
    }
    delete b;
}

void * buffer_get_base(ggml_backend_buffer_t buffer) {
    auto * b = (sim_buffer *)buffer->context;
    // a no-alloc buffer still needs an aligned, non-null base (CUDA uses the alignment itself)
    return b->data ? b->data : (void *)kAlignment;
}

ggml_status buffer_init_tensor(ggml_backend_buffer_t buffer, ggml_tensor * tensor) {
    if (tensor->view_src != nullptr) return GGML_STATUS_SUCCESS;
    // CUDA zeroes the row padding of quantized weights so the padded kernels read zeros
    if (ggml_is_quantized(tensor->type) && ggml_backend_buffer_get_usage(buffer) != GGML_BACKEND_BUFFER_USAGE_COMPUTE &&
        ((sim_buffer *)buffer->context)->data != nullptr) {
        size_t orig = ggml_nbytes(tensor);
        size_t padded = ggml_backend_buft_get_alloc_size(buffer->buft, tensor);
        if (padded > orig) std::memset((char *)tensor->data + orig, 0, padded - orig);
    }
    return GGML_STATUS_SUCCESS;
}

void buffer_memset_tensor(ggml_backend_buffer_t, ggml_tensor * t, uint8_t value, size_t offset, size_t size) {
    std::memset((char *)t->data + offset, value, size);
}

void buffer_set_tensor(ggml_backend_buffer_t, ggml_tensor * t, const void * data, size_t offset, size_t size) {
    std::memcpy((char *)t->data + offset, data, size);
}

void buffer_get_tensor(ggml_backend_buffer_t, const ggml_tensor * t, void * data, size_t offset, size_t size) {
    std::memcpy(data, (const char *)t->data + offset, size);
}

bool buffer_cpy_tensor(ggml_backend_buffer_t, const ggml_tensor * src, ggml_tensor * dst) {
    // every buffer here is host memory underneath; a real GPU copies device to
    // device or from a host buffer, which memcpy stands for.
    if (src->buffer == nullptr || src->data == nullptr) return false;
    std::memcpy(dst->data, src->data, ggml_nbytes(src));
    return true;
}

void buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
    auto * b = (sim_buffer *)buffer->context;
    if (b->data) std::memset(b->data, value, b->size);
}

const ggml_backend_buffer_i kBufferIface = {
    /* .free_buffer   = */ buffer_free,
    /* .get_base      = */ buffer_get_base,
    /* .init_tensor   = */ buffer_init_tensor,
    /* .memset_tensor = */ buffer_memset_tensor,
    /* .set_tensor    = */ buffer_set_tensor,
    /* .get_tensor    = */ buffer_get_tensor,
    /* .cpy_tensor    = */ buffer_cpy_tensor,
    /* .clear         = */ buffer_clear,
    /* .reset         = */ nullptr,
};

// ---- device buffer type ----

const char * buft_get_name(ggml_backend_buffer_type_t buft) {
    return ((sim_device *)buft->context)->name.c_str();
}

bool buft_is_sim(ggml_backend_buffer_type_t buft) {
    return buft->iface.get_name == buft_get_name;
}

ggml_backend_buffer_t buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    auto * d = (sim_device *)buft->context;
    {
        std::lock_guard<std::mutex> lk(d->mu);
        if (d->allocated + size > d->free0) {
            d->failed++;
            d->failed_bytes = std::max(d->failed_bytes, size);
            // the message CUDA prints (ggml_backend_cuda_buffer_type_alloc_buffer)
            GGML_LOG_ERROR("%s: allocating %.2f MiB on device %d: cudaMalloc failed: out of memory\n", __func__,
                           size / 1024.0 / 1024.0, d->index);
            return nullptr;
        }
        d->allocated += size;
        d->peak = std::max(d->peak, d->allocated);
    }
    void * p = nullptr;
    if (posix_memalign(&p, kAlignment, std::max(size, kAlignment)) != 0) {
        release(d, size);
        GGML_LOG_ERROR("%s: host memory behind device %d exhausted (%.2f MiB)\n", __func__, d->index,
                       size / 1024.0 / 1024.0);
        return nullptr;
    }
    auto * b = new sim_buffer{d, p, size};
    return ggml_backend_buffer_init(buft, kBufferIface, b, size);
}

ggml_backend_buffer_t buft_noalloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    auto * b = new sim_buffer{(sim_device *)buft->context, nullptr, size};
    return ggml_backend_buffer_init(buft, kBufferIface, b, size);
}

size_t buft_get_alignment(ggml_backend_buffer_type_t) { return kAlignment; }

size_t buft_get_alloc_size(ggml_backend_buffer_type_t, const ggml_tensor * tensor) {
    size_t size = ggml_nbytes(tensor);
    int64_t ne0 = tensor->ne[0];
    if (ggml_is_quantized(tensor->type) && ne0 % kMatrixRowPadding != 0) {
        size += ggml_row_size(tensor->type, kMatrixRowPadding - ne0 % kMatrixRowPadding);
    }
    return size;
}

const ggml_backend_buffer_type_i kBuftIface = {
    /* .get_name       = */ buft_get_name,
    /* .alloc_buffer   = */ buft_alloc_buffer,
    /* .get_alignment  = */ buft_get_alignment,
    /* .get_max_size   = */ nullptr, // SIZE_MAX, as CUDA
    /* .get_alloc_size = */ buft_get_alloc_size,
    /* .is_host        = */ nullptr, // device memory
    /* .noalloc_buffer = */ buft_noalloc_buffer,
};

// ---- host (staging) buffer type ----

const char * host_buft_get_name(ggml_backend_buffer_type_t) { return "SIMGPU_Host"; }

void host_buffer_free(ggml_backend_buffer_t buffer) {
    std::free(buffer->context);
    delete buffer;
}

ggml_backend_buffer_t host_buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    void * p = nullptr;
    if (posix_memalign(&p, 64, std::max<size_t>(size, 64)) != 0) {
        return ggml_backend_buft_alloc_buffer(ggml_backend_cpu_buffer_type(), size); // CUDA's fallback
    }
    ggml_backend_buffer_t buffer = ggml_backend_cpu_buffer_from_ptr(p, size);
    buffer->buft = buft;
    buffer->iface.free_buffer = host_buffer_free;
    return buffer;
}

ggml_backend_buffer_type g_host_buft{};

ggml_backend_buffer_type_t host_buffer_type() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_host_buft.iface = {
            /* .get_name       = */ host_buft_get_name,
            /* .alloc_buffer   = */ host_buft_alloc_buffer,
            /* .get_alignment  = */ ggml_backend_cpu_buffer_type()->iface.get_alignment,
            /* .get_max_size   = */ nullptr,
            /* .get_alloc_size = */ ggml_backend_cpu_buffer_type()->iface.get_alloc_size,
            /* .is_host        = */ ggml_backend_cpu_buffer_type()->iface.is_host,
            /* .noalloc_buffer = */ nullptr,
        };
        g_host_buft.device = g_devices.empty() ? nullptr : &g_devices[0]->dev;
        g_host_buft.context = nullptr;
    });
    return &g_host_buft;
}

// ---- backend (stream): the CPU backend does the work ----

struct sim_backend_ctx {
    sim_device * dev;
    ggml_backend_t cpu;
    std::string name;
};

const char * backend_get_name(ggml_backend_t backend) { return ((sim_backend_ctx *)backend->context)->name.c_str(); }

void backend_free(ggml_backend_t backend) {
    auto * c = (sim_backend_ctx *)backend->context;
    ggml_backend_free(c->cpu);
    delete c;
    delete backend;
}

ggml_status backend_graph_compute(ggml_backend_t backend, ggml_cgraph * cgraph, int batch_size) {
    auto * c = (sim_backend_ctx *)backend->context;
    (void)batch_size;
    return ggml_backend_graph_compute(c->cpu, cgraph);
}

ggml_guid_t backend_guid() {
    static ggml_guid guid = {0x66, 0x69, 0x74, 0x62, 0x65, 0x6e, 0x63, 0x68, 0x73, 0x69, 0x6d, 0x67, 0x70, 0x75, 0x00, 0x01};
    return &guid;
}

// events: the CPU computes synchronously, so an event is complete when recorded
ggml_backend_event_t dev_event_new(ggml_backend_dev_t dev) { return new ggml_backend_event{dev, nullptr}; }
void dev_event_free(ggml_backend_dev_t, ggml_backend_event_t event) { delete event; }
void dev_event_synchronize(ggml_backend_dev_t, ggml_backend_event_t) {}
void backend_event_record(ggml_backend_t, ggml_backend_event_t) {}
void backend_event_wait(ggml_backend_t, ggml_backend_event_t) {}

const ggml_backend_i kBackendIface = {
    /* .get_name           = */ backend_get_name,
    /* .free               = */ backend_free,
    /* .set_tensor_async   = */ nullptr,
    /* .get_tensor_async   = */ nullptr,
    /* .cpy_tensor_async   = */ nullptr,
    /* .synchronize        = */ nullptr,
    /* .graph_plan_create  = */ nullptr,
    /* .graph_plan_free    = */ nullptr,
    /* .graph_plan_update  = */ nullptr,
    /* .graph_plan_compute = */ nullptr,
    /* .graph_compute      = */ backend_graph_compute,
    /* .event_record       = */ backend_event_record,
    /* .event_wait         = */ backend_event_wait,
    /* .graph_optimize     = */ nullptr,
    /* .graph_reserve      = */ nullptr,
    /* .buffer_size        = */ nullptr,
    /* .reset              = */ nullptr,
};

void set_n_threads(ggml_backend_t backend, int n) {
    if (backend->iface.get_name != backend_get_name) return;
    ggml_backend_cpu_set_n_threads(((sim_backend_ctx *)backend->context)->cpu, n);
}

// ---- device ----

sim_device * devctx(ggml_backend_dev_t dev) { return (sim_device *)dev->context; }

const char * dev_get_name(ggml_backend_dev_t dev) { return devctx(dev)->name.c_str(); }
const char * dev_get_description(ggml_backend_dev_t dev) { return devctx(dev)->description.c_str(); }

void dev_get_memory(ggml_backend_dev_t dev, size_t * free, size_t * total) {
    auto * d = devctx(dev);
    std::lock_guard<std::mutex> lk(d->mu);
    // like cudaMemGetInfo: what this process allocated is no longer free
    *free = d->free0 - d->allocated;
    *total = d->total;
}

enum ggml_backend_dev_type dev_get_type(ggml_backend_dev_t) { return GGML_BACKEND_DEVICE_TYPE_GPU; }

void dev_get_props(ggml_backend_dev_t dev, ggml_backend_dev_props * props) {
    auto * d = devctx(dev);
    std::memset(props, 0, sizeof(*props));
    props->name = d->name.c_str();
    props->description = d->description.c_str();
    props->id = d->id.c_str();
    props->type = GGML_BACKEND_DEVICE_TYPE_GPU;
    props->device_id = nullptr;
    dev_get_memory(dev, &props->memory_free, &props->memory_total);
    bool async = std::getenv("FITBENCH_SIMGPU_SYNC") == nullptr;
    props->caps = {/* async */ async, /* host_buffer */ true, /* buffer_from_host_ptr */ false, /* events */ async};
    props->compute_major = 8;
    props->compute_minor = 6;
    // FITBENCH_SIMGPU_LIBRARY=CUDA labels the device with the library of the
    // GPU it simulates (its buffer type, row padding and offload_op are
    // CUDA's), plus a CUDA 12.4 driver: Ollama decides flash-attention support
    // from that label alone (ml/device.go FlashAttentionSupported: CUDA with
    // driver >= 7 and compute capability other than 7.2), so under it Ollama
    // runs flash attention on the simulated GPUs as on a CUDA one. Unset: the
    // library is "SIMGPU" and the driver version 0.
    static const char * lib = std::getenv("FITBENCH_SIMGPU_LIBRARY");
    if (lib != nullptr && std::strcmp(lib, "CUDA") == 0) {
        props->library = "CUDA";
        props->driver_major = 12;
        props->driver_minor = 4;
    } else {
        props->library = "SIMGPU";
    }
}

ggml_backend_t dev_init_backend(ggml_backend_dev_t dev, const char *) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    if (!cpu) return nullptr;
    if (g_threads > 0) ggml_backend_cpu_set_n_threads(cpu, g_threads);
    auto * c = new sim_backend_ctx{devctx(dev), cpu, devctx(dev)->name};
    return new ggml_backend{backend_guid(), kBackendIface, dev, c};
}

ggml_backend_buffer_type_t dev_get_buffer_type(ggml_backend_dev_t dev) { return &devctx(dev)->buft; }
ggml_backend_buffer_type_t dev_get_host_buffer_type(ggml_backend_dev_t) { return host_buffer_type(); }

bool dev_supports_op(ggml_backend_dev_t, const ggml_tensor * op) {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    return cpu == nullptr || ggml_backend_dev_supports_op(cpu, op);
}

bool dev_supports_buft(ggml_backend_dev_t dev, ggml_backend_buffer_type_t buft) {
    return buft_is_sim(buft) && buft->device == dev;
}

int64_t op_batch_size(const ggml_tensor * op) {
    switch (op->op) {
        case GGML_OP_GET_ROWS: return 0;
        case GGML_OP_MUL_MAT: return op->ne[1];
        case GGML_OP_MUL_MAT_ID:
        case GGML_OP_ROPE:
        case GGML_OP_ROPE_BACK: return op->ne[2];
        default: return ggml_nrows(op);
    }
}

bool dev_offload_op(ggml_backend_dev_t, const ggml_tensor * op) { return op_batch_size(op) >= 32; }

const ggml_backend_device_i kDeviceIface = {
    /* .get_name             = */ dev_get_name,
    /* .get_description      = */ dev_get_description,
    /* .get_memory           = */ dev_get_memory,
    /* .get_type             = */ dev_get_type,
    /* .get_props            = */ dev_get_props,
    /* .init_backend         = */ dev_init_backend,
    /* .get_buffer_type      = */ dev_get_buffer_type,
    /* .get_host_buffer_type = */ dev_get_host_buffer_type,
    /* .buffer_from_host_ptr = */ nullptr,
    /* .supports_op          = */ dev_supports_op,
    /* .supports_buft        = */ dev_supports_buft,
    /* .offload_op           = */ dev_offload_op,
    /* .event_new            = */ dev_event_new,
    /* .event_free           = */ dev_event_free,
    /* .event_synchronize    = */ dev_event_synchronize,
    /* .reset                = */ nullptr,
};

// ---- registry ----

const char * reg_get_name(ggml_backend_reg_t) { return "SIMGPU"; }
size_t reg_get_device_count(ggml_backend_reg_t) { return g_devices.size(); }
ggml_backend_dev_t reg_get_device(ggml_backend_reg_t, size_t i) { return i < g_devices.size() ? &g_devices[i]->dev : nullptr; }

void * reg_get_proc_address(ggml_backend_reg_t, const char * name) {
    if (std::strcmp(name, "ggml_backend_set_n_threads") == 0) return (void *)set_n_threads;
    return nullptr;
}

const ggml_backend_reg_i kRegIface = {
    /* .get_name         = */ reg_get_name,
    /* .get_device_count = */ reg_get_device_count,
    /* .get_device       = */ reg_get_device,
    /* .get_proc_address = */ reg_get_proc_address,
};

void init_devices() {
    const char * env = std::getenv("FITBENCH_SIMGPU");
    if (const char * t = std::getenv("FITBENCH_SIMGPU_THREADS")) g_threads = std::atoi(t);
    std::string spec = env ? env : "";
    size_t pos = 0;
    while (pos < spec.size()) {
        size_t comma = spec.find(',', pos);
        std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? spec.size() : comma + 1;
        if (item.empty()) continue;
        size_t slash = item.find('/');
        size_t free = 0, total = 0;
        bool ok = parse_size(item.substr(0, slash), &free);
        if (ok) ok = slash == std::string::npos ? (total = free, true) : parse_size(item.substr(slash + 1), &total);
        if (!ok || free > total || free == 0) {
            GGML_LOG_ERROR("simgpu: FITBENCH_SIMGPU entry \"%s\" is not FREE or FREE/TOTAL in MiB (K/M/G suffixes); skipped\n",
                           item.c_str());
            continue;
        }
        auto * d = new sim_device();
        d->index = (int)g_devices.size();
        d->name = "SIMGPU" + std::to_string(d->index);
        char desc[128];
        std::snprintf(desc, sizeof desc, "fitbench simulated GPU %d (%.0f MiB)", d->index, total / 1048576.0);
        d->description = desc;
        d->id = "GPU-51b6a000-0000-4000-8000-00000000000" + std::to_string(d->index);
        d->free0 = free;
        d->total = total;
        d->buft = ggml_backend_buffer_type{kBuftIface, &d->dev, d, false};
        d->dev = ggml_backend_device{kDeviceIface, &g_reg, d};
        g_devices.push_back(d);
    }
}

} // namespace

extern "C" {

ggml_backend_reg_t ggml_backend_simgpu_reg(void) {
    static std::once_flag once;
    std::call_once(once, [] {
        g_reg = ggml_backend_reg{GGML_BACKEND_API_VERSION, kRegIface, nullptr};
        init_devices();
    });
    return &g_reg;
}

int simgpu_device_count(void) { return (int)ggml_backend_simgpu_reg()->iface.get_device_count(&g_reg); }

bool simgpu_get_stats(int i, simgpu_stats * out) {
    if (i < 0 || i >= (int)g_devices.size()) return false;
    auto * d = g_devices[i];
    std::lock_guard<std::mutex> lk(d->mu);
    *out = simgpu_stats{d->allocated, d->peak, d->free0, d->total, d->failed, d->failed_bytes};
    return true;
}

} // extern "C"

GGML_BACKEND_DL_IMPL(ggml_backend_simgpu_reg)
