// simgpu-rig: loads a model with llama-server's parameters on simulated GPUs
// (simgpu.h), the way llama-server's common_init_result does it
// (llama/llama.cpp/common/common.cpp of Ollama v0.17.4): build llama_model_params
// and llama_context_params from the flags, run llama_params_fit unless --fit off,
// load, create the context, decode a few tokens. It then prints what llama.cpp
// placed where, exactly (bytes, from llama_context::memory_breakdown and the
// buffers of the model's tensors), as one JSON object on stdout; llama.cpp's own
// log (buffer size lines, memory breakdown table) goes to stderr.
//
//   FITBENCH_SIMGPU=4096,2048 simgpu-rig -m model.gguf -ngl 20 -c 4096 -np 2 ...
//
// Flags (llama-server's spelling): -m, -ngl/--n-gpu-layers N|auto|all, -c/--ctx-size,
// -np/--parallel, -kvu/--kv-unified, --no-kv-unified, -fa/--flash-attn on|off|auto,
// -ctk/--cache-type-k, -ctv/--cache-type-v, -ts/--tensor-split A,B, -sm/--split-mode
// none|layer|row, -mg/--main-gpu, -ot/--override-tensor PAT=BUFT[,…], -cmoe/--cpu-moe,
// -ncmoe/--n-cpu-moe N, -b/--batch-size, -ub/--ubatch-size, --swa-full,
// -fit/--fit on|off, -fitt/--fit-target MiB, -fitc/--fit-ctx N, --no-mmap, -t N,
// -dev/--device none|NAME[,…].
// Rig flags: -n N (tokens to decode, default 4), --fit-only (run llama_params_fit,
// print its choice, do not load).
#include "simgpu.h"

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

// Internal headers of the vendored llama.cpp, for exact per-buffer figures. The
// logits/embeddings output buffer (llama_context::buf_output) is private and not
// part of memory_breakdown(); its exact size is read through this rig-only
// access (the standard headers above are already included, unaffected).
#define private public
#include "llama-context.h"
#include "llama-model.h"
#undef private

namespace {

struct opts {
    std::string model;
    int ngl = -1; // -1 = llama-server's default (llama_model_default_params: 999)
    int n_ctx = 0;
    int n_parallel = 1;
    bool kv_unified = false;
    llama_flash_attn_type fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
    ggml_type ctk = GGML_TYPE_F16, ctv = GGML_TYPE_F16;
    std::vector<float> ts;
    llama_split_mode sm = LLAMA_SPLIT_MODE_LAYER;
    int main_gpu = 0;
    std::vector<std::pair<std::string, std::string>> ot; // pattern, buft name
    int n_cpu_moe = 0;
    bool cpu_moe = false;
    int n_batch = 2048, n_ubatch = 512;
    bool swa_full = false;
    bool fit = true;
    size_t fit_target = size_t(1024) * 1024 * 1024;
    int fit_ctx = 4096;
    bool mmap = true;
    int threads = 0;
    int n_decode = 4;
    bool fit_only = false;
    bool dev_set = false;
    std::vector<std::string> devices; // -dev: names, empty with dev_set = none
};

[[noreturn]] void usage(const std::string & msg) {
    std::fprintf(stderr, "simgpu-rig: %s\n", msg.c_str());
    std::printf("{\"ok\":false,\"error\":\"%s\"}\n", msg.c_str());
    std::exit(2);
}

ggml_type parse_cache_type(const std::string & s) {
    static const std::map<std::string, ggml_type> m = {
        {"f32", GGML_TYPE_F32}, {"f16", GGML_TYPE_F16}, {"bf16", GGML_TYPE_BF16}, {"q8_0", GGML_TYPE_Q8_0},
        {"q4_0", GGML_TYPE_Q4_0}, {"q4_1", GGML_TYPE_Q4_1}, {"iq4_nl", GGML_TYPE_IQ4_NL}, {"q5_0", GGML_TYPE_Q5_0},
        {"q5_1", GGML_TYPE_Q5_1}};
    auto it = m.find(s);
    if (it == m.end()) usage("unknown cache type " + s);
    return it->second;
}

std::vector<std::string> split(const std::string & s, char sep) {
    std::vector<std::string> out;
    size_t p = 0;
    while (p <= s.size()) {
        size_t q = s.find(sep, p);
        if (q == std::string::npos) q = s.size();
        out.push_back(s.substr(p, q - p));
        p = q + 1;
    }
    return out;
}

int to_int(const std::string & flag, const std::string & v) {
    char * end = nullptr;
    long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end) usage(flag + " needs an integer, got \"" + v + "\"");
    return (int)x;
}

opts parse(int argc, char ** argv) {
    opts o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "-m" || a == "--model") o.model = val();
        else if (a == "-ngl" || a == "--n-gpu-layers" || a == "--gpu-layers") {
            std::string v = val();
            if (v == "auto") o.ngl = -1;
            else if (v == "all") o.ngl = 999;
            else o.ngl = to_int(a, v);
        } else if (a == "-c" || a == "--ctx-size") o.n_ctx = to_int(a, val());
        else if (a == "-np" || a == "--parallel") o.n_parallel = to_int(a, val());
        else if (a == "-kvu" || a == "--kv-unified") o.kv_unified = true;
        else if (a == "--no-kv-unified") o.kv_unified = false;
        else if (a == "-fa" || a == "--flash-attn") {
            std::string v = val();
            if (v == "on" || v == "1" || v == "true") o.fa = LLAMA_FLASH_ATTN_TYPE_ENABLED;
            else if (v == "off" || v == "0" || v == "false") o.fa = LLAMA_FLASH_ATTN_TYPE_DISABLED;
            else if (v == "auto") o.fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
            else usage("-fa takes on|off|auto");
        } else if (a == "-ctk" || a == "--cache-type-k") o.ctk = parse_cache_type(val());
        else if (a == "-ctv" || a == "--cache-type-v") o.ctv = parse_cache_type(val());
        else if (a == "-ts" || a == "--tensor-split") {
            // llama-server accepts "3,1" or "3/1"
            std::string v = val();
            for (char & c : v) if (c == '/') c = ',';
            for (auto & p : split(v, ',')) o.ts.push_back(std::strtof(p.c_str(), nullptr));
        } else if (a == "-sm" || a == "--split-mode") {
            std::string v = val();
            o.sm = v == "none" ? LLAMA_SPLIT_MODE_NONE : v == "row" ? LLAMA_SPLIT_MODE_ROW : LLAMA_SPLIT_MODE_LAYER;
        } else if (a == "-mg" || a == "--main-gpu") o.main_gpu = to_int(a, val());
        else if (a == "-ot" || a == "--override-tensor") {
            for (auto & p : split(val(), ',')) {
                size_t eq = p.find('=');
                if (eq == std::string::npos) usage("-ot takes PATTERN=BUFFER_TYPE");
                o.ot.emplace_back(p.substr(0, eq), p.substr(eq + 1));
            }
        } else if (a == "-cmoe" || a == "--cpu-moe") o.cpu_moe = true;
        else if (a == "-ncmoe" || a == "--n-cpu-moe") o.n_cpu_moe = to_int(a, val());
        else if (a == "-b" || a == "--batch-size") o.n_batch = to_int(a, val());
        else if (a == "-ub" || a == "--ubatch-size") o.n_ubatch = to_int(a, val());
        else if (a == "--swa-full") o.swa_full = true;
        else if (a == "-fit" || a == "--fit") {
            std::string v = val();
            if (v != "on" && v != "off") usage("--fit takes on|off");
            o.fit = v == "on";
        } else if (a == "-fitt" || a == "--fit-target") o.fit_target = size_t(to_int(a, val())) * 1024 * 1024;
        else if (a == "-fitc" || a == "--fit-ctx") o.fit_ctx = to_int(a, val());
        else if (a == "--no-mmap") o.mmap = false;
        else if (a == "-t" || a == "--threads") o.threads = to_int(a, val());
        else if (a == "-n" || a == "--n-predict") o.n_decode = to_int(a, val());
        else if (a == "--fit-only") o.fit_only = true;
        else if (a == "-dev" || a == "--device") {
            o.dev_set = true;
            std::string v = val();
            if (v != "none") o.devices = split(v, ',');
        }
        else usage("unknown flag " + a);
    }
    if (o.model.empty()) usage("-m MODEL is required");
    return o;
}

// ---- a minimal JSON writer ----
std::string jstr(const std::string & s) {
    std::string o = "\"";
    for (char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            default:
                if ((unsigned char)c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
                else o += c;
        }
    }
    return o + "\"";
}

ggml_backend_buffer_type_t buft_by_name(const std::string & name) {
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        ggml_backend_buffer_type_t b = ggml_backend_dev_buffer_type(dev);
        if (name == ggml_backend_buft_name(b)) return b;
        if (ggml_backend_buffer_type_t h = ggml_backend_dev_host_buffer_type(dev)) {
            if (name == ggml_backend_buft_name(h)) return h;
        }
    }
    if (name == "CPU") return ggml_backend_cpu_buffer_type();
    return nullptr;
}

std::string dev_of(ggml_backend_dev_t d) { return d ? ggml_backend_dev_name(d) : "CPU"; }

// the device a buffer type belongs to, "CPU" for host memory (also SIMGPU_Host:
// pinned host memory is system RAM, as CUDA_Host is)
std::string place_of(ggml_backend_buffer_type_t buft) {
    if (ggml_backend_buft_is_host(buft)) return "CPU";
    ggml_backend_dev_t d = ggml_backend_buft_get_device(buft);
    return d ? ggml_backend_dev_name(d) : "CPU";
}

std::string log_tail; // last llama.cpp error, for the JSON

void log_cb(ggml_log_level level, const char * text, void *) {
    std::fputs(text, stderr);
    if (level == GGML_LOG_LEVEL_ERROR) {
        log_tail += text;
        if (log_tail.size() > 2000) log_tail.erase(0, log_tail.size() - 2000);
    }
}

} // namespace

int main(int argc, char ** argv) {
    opts o = parse(argc, argv);
    llama_log_set(log_cb, nullptr);
    ggml_backend_register(ggml_backend_simgpu_reg());
    llama_backend_init();

    // common_model_params_to_llama / common_context_params_to_llama
    llama_model_params mp = llama_model_default_params();
    if (o.ngl != -1) mp.n_gpu_layers = o.ngl;
    mp.main_gpu = o.main_gpu;
    mp.split_mode = o.sm;
    std::vector<float> tensor_split(llama_max_devices(), 0.0f);
    for (size_t i = 0; i < o.ts.size() && i < tensor_split.size(); i++) tensor_split[i] = o.ts[i];
    mp.tensor_split = tensor_split.data();
    mp.use_mmap = o.mmap;
    // -dev: the devices to offload to, NULL-terminated (none = an empty list)
    std::vector<ggml_backend_dev_t> devlist;
    if (o.dev_set) {
        for (auto & name : o.devices) {
            ggml_backend_dev_t d = ggml_backend_dev_by_name(name.c_str());
            if (!d) usage("unknown device " + name);
            devlist.push_back(d);
        }
        devlist.push_back(nullptr);
        mp.devices = devlist.data();
    }

    // -ot, --cpu-moe and --n-cpu-moe become tensor buffer overrides, in arg.cpp's order
    std::vector<std::string> patterns; // keep the strings alive
    patterns.reserve(o.ot.size() + o.n_cpu_moe + 1);
    std::vector<llama_model_tensor_buft_override> tbo;
    for (auto & [pat, name] : o.ot) {
        ggml_backend_buffer_type_t b = buft_by_name(name);
        if (!b) usage("unknown buffer type " + name);
        patterns.push_back(pat);
        tbo.push_back({patterns.back().c_str(), b});
    }
    if (o.cpu_moe) {
        patterns.push_back("\\.ffn_(up|down|gate)_(ch|)exps"); // LLM_FFN_EXPS_REGEX (common.h)
        tbo.push_back({patterns.back().c_str(), ggml_backend_cpu_buffer_type()});
    }
    for (int i = 0; i < o.n_cpu_moe; i++) {
        patterns.push_back("blk\\." + std::to_string(i) + "\\.ffn_(up|down|gate)_(ch|)exps"); // llm_ffn_exps_block_regex
        tbo.push_back({patterns.back().c_str(), ggml_backend_cpu_buffer_type()});
    }
    // llama_params_fit writes its overrides into a buffer of llama_max_tensor_buft_overrides()
    std::vector<llama_model_tensor_buft_override> fit_tbo(llama_max_tensor_buft_overrides(), {nullptr, nullptr});
    if (!tbo.empty()) {
        tbo.push_back({nullptr, nullptr});
        mp.tensor_buft_overrides = tbo.data();
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = o.n_ctx;
    cp.n_seq_max = o.n_parallel;
    cp.n_batch = o.n_batch;
    cp.n_ubatch = o.n_ubatch;
    cp.flash_attn_type = o.fa;
    cp.type_k = o.ctk;
    cp.type_v = o.ctv;
    cp.swa_full = o.swa_full;
    cp.kv_unified = o.kv_unified;
    if (o.threads > 0) cp.n_threads = cp.n_threads_batch = o.threads;

    std::string out = "{";
    auto field = [&](const std::string & k, const std::string & v) {
        if (out.size() > 1) out += ",";
        out += jstr(k) + ":" + v;
    };

    // ---- llama.cpp's automatic fit (what llama-server does before loading) ----
    if (o.fit) {
        bool fit_ok = llama_params_fit(o.model.c_str(), &mp, &cp, tensor_split.data(), fit_tbo.data(), o.fit_target,
                                       (uint32_t)o.fit_ctx, GGML_LOG_LEVEL_ERROR);
        std::string f = "{\"ok\":" + std::string(fit_ok ? "true" : "false");
        f += ",\"n_ctx\":" + std::to_string(cp.n_ctx);
        f += ",\"n_gpu_layers\":" + std::to_string(mp.n_gpu_layers);
        f += ",\"tensor_split\":[";
        int ndev = simgpu_device_count();
        for (int i = 0; i < ndev; i++) {
            char b[32];
            std::snprintf(b, sizeof b, "%s%g", i ? "," : "", mp.tensor_split ? mp.tensor_split[i] : 0.0f);
            f += b;
        }
        f += "],\"overrides\":[";
        bool first = true;
        for (auto * t = mp.tensor_buft_overrides; t && t->pattern; t++) {
            f += std::string(first ? "" : ",") + "{\"pattern\":" + jstr(t->pattern) + ",\"buft\":" +
                 jstr(ggml_backend_buft_name(t->buft)) + "}";
            first = false;
        }
        f += "]}";
        field("fit", f);
    }
    if (o.fit_only) {
        std::printf("%s,\"ok\":true}\n", out.c_str());
        return 0;
    }

    // ---- load and place ----
    auto finish = [&](bool ok, const std::string & err) {
        // the simulated devices' own accounting: what was really allocated
        std::string d = "[";
        for (int i = 0; i < simgpu_device_count(); i++) {
            simgpu_stats st{};
            simgpu_get_stats(i, &st);
            d += std::string(i ? "," : "") + "{\"name\":\"SIMGPU" + std::to_string(i) + "\",\"free_at_start\":" +
                 std::to_string(st.free_at_start) + ",\"total\":" + std::to_string(st.total) +
                 ",\"allocated\":" + std::to_string(st.allocated) + ",\"peak\":" + std::to_string(st.peak) +
                 ",\"failed_allocs\":" + std::to_string(st.failed_allocs) + ",\"largest_failed\":" +
                 std::to_string(st.failed_bytes) + "}";
        }
        field("simgpu", d + "]");
        field("ok", ok ? "true" : "false");
        if (!err.empty()) field("error", jstr(err + (log_tail.empty() ? "" : ": " + log_tail)));
        std::printf("%s}\n", out.c_str());
        return ok ? 0 : 1;
    };

    llama_model * model = llama_model_load_from_file(o.model.c_str(), mp);
    if (!model) return finish(false, "failed to load the model");
    {
        std::string ls = "[";
        for (int il = 0; il < model->hparams.n_layer; il++) ls += std::string(il ? "," : "") + jstr(dev_of(model->dev_layer(il)));
        field("layers", ls + "]");
        field("output_device", jstr(dev_of(model->dev_output())));
        field("n_layer", std::to_string(model->hparams.n_layer));
        field("n_ctx_train", std::to_string(model->hparams.n_ctx_train));
        field("n_expert", std::to_string(model->hparams.n_expert));
        // weights by buffer type and by layer: where each tensor landed
        std::map<std::string, size_t> by_buft;
        std::map<std::string, std::map<int, size_t>> by_layer; // buft -> layer (-1 = not a block) -> bytes
        for (auto & [name, t] : model->tensors_by_name) {
            if (!t->buffer) continue;
            std::string b = ggml_backend_buft_name(ggml_backend_buffer_get_type(t->buffer));
            size_t n = ggml_backend_buft_get_alloc_size(ggml_backend_buffer_get_type(t->buffer), t);
            by_buft[b] += n;
            int il = -1;
            if (name.rfind("blk.", 0) == 0) il = std::atoi(name.c_str() + 4);
            by_layer[b][il] += n;
        }
        std::string w = "{";
        for (auto & [b, n] : by_buft) {
            w += std::string(w.size() > 1 ? "," : "") + jstr(b) + ":{\"bytes\":" + std::to_string(n) + ",\"layers\":{";
            bool first = true;
            for (auto & [il, m] : by_layer[b]) {
                w += std::string(first ? "" : ",") + "\"" + std::to_string(il) + "\":" + std::to_string(m);
                first = false;
            }
            w += "}}";
        }
        field("tensors", w + "}");
    }

    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        llama_model_free(model);
        return finish(false, "failed to create the context");
    }
    {
        const llama_cparams & c = ctx->get_cparams();
        field("n_ctx", std::to_string(llama_n_ctx(ctx)));
        field("n_ctx_seq", std::to_string(llama_n_ctx_seq(ctx)));
        field("n_seq", std::to_string(llama_n_seq_max(ctx)));
        field("n_batch", std::to_string(llama_n_batch(ctx)));
        field("n_ubatch", std::to_string(llama_n_ubatch(ctx)));
        field("flash_attn", c.flash_attn ? "true" : "false");
        field("kv_unified", c.kv_unified ? "true" : "false");
        // per buffer type: model / context (KV) / compute, and the device it is on
        std::string b = "[";
        bool first = true;
        for (auto & [buft, mb] : ctx->memory_breakdown()) {
            b += std::string(first ? "" : ",") + "{\"buft\":" + jstr(ggml_backend_buft_name(buft)) +
                 ",\"device\":" + jstr(place_of(buft)) + ",\"host\":" + (ggml_backend_buft_is_host(buft) ? "true" : "false") +
                 ",\"model\":" + std::to_string(mb.model) + ",\"context\":" + std::to_string(mb.context) +
                 ",\"compute\":" + std::to_string(mb.compute) + "}";
            first = false;
        }
        field("buffers", b + "]");
        if (ctx->buf_output) {
            ggml_backend_buffer_t ob = ctx->buf_output.get();
            ggml_backend_buffer_type_t obt = ggml_backend_buffer_get_type(ob);
            field("output_buffer", "{\"buft\":" + jstr(ggml_backend_buft_name(obt)) + ",\"device\":" + jstr(place_of(obt)) +
                                       ",\"bytes\":" + std::to_string(ggml_backend_buffer_get_size(ob)) + "}");
        }
    }
    llama_memory_breakdown_print(ctx); // llama.cpp's own table, to stderr

    // ---- decode a few tokens (greedy) to prove the placement computes ----
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::string prompt = "Hello world";
    std::vector<llama_token> toks(64);
    int n = llama_tokenize(vocab, prompt.c_str(), (int)prompt.size(), toks.data(), (int)toks.size(), true, false);
    if (n < 0) { llama_free(ctx); llama_model_free(model); return finish(false, "tokenize failed"); }
    toks.resize(n);
    int decoded = 0;
    bool finite = true;
    llama_batch batch = llama_batch_get_one(toks.data(), (int)toks.size());
    llama_token next = 0;
    for (int step = 0; step <= o.n_decode; step++) {
        if (llama_decode(ctx, batch) != 0) { finite = false; break; }
        if (step == o.n_decode) break;
        const float * logits = llama_get_logits_ith(ctx, -1);
        int nv = llama_vocab_n_tokens(vocab);
        int best = 0;
        for (int i = 0; i < nv; i++) {
            if (!std::isfinite(logits[i])) finite = false;
            if (logits[i] > logits[best]) best = i;
        }
        next = best;
        decoded++;
        batch = llama_batch_get_one(&next, 1);
    }
    field("decoded", std::to_string(decoded));
    field("logits_finite", finite ? "true" : "false");
    bool ok = decoded == o.n_decode && finite;
    llama_free(ctx);
    llama_model_free(model);
    return finish(ok, ok ? "" : "decode failed");
}
