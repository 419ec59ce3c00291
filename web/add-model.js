// The add-model page: paste → Analyze → result card → Download & Benchmark →
// live progress over the WebSocket → workbench. Every field of the analysis is
// optional here: the page renders what the report has and skips the rest.
"use strict";

(() => {
  const { api, el, num, gb, toks, bytes, duration, stars, ratioBadge, showError, wsURL } = fb;
  const $ = (id) => document.getElementById(id);
  const form = $("analyze-form"), errorBox = $("error"), result = $("result");
  let report = null;

  form.addEventListener("submit", (e) => { e.preventDefault(); analyze(""); });
  $("install").addEventListener("click", install);

  function request(quant) {
    const body = { content: $("content").value };
    if (quant) body.quant = quant;
    const gpu = $("gpu").value.trim(), vram = parseFloat($("vram").value), ctx = parseInt($("ctx").value, 10);
    if (gpu) body.gpu = gpu;
    if (vram > 0) body.vram_gb = vram;
    if (ctx > 0) body.ctx = ctx;
    if ($("cpu-only").checked) body.cpu_only = true;
    return body;
  }

  async function analyze(quant) {
    errorBox.hidden = true;
    if (!$("content").value.trim()) {
      showError(errorBox, { message: "Paste a model first.", hint: "A Hugging Face URL, a repo id such as org/repo, or the whole text of a model page." });
      $("content").focus();
      return;
    }
    const btn = $("analyze");
    btn.disabled = true;
    $("analyze-status").textContent = "Analyzing…";
    try {
      report = await api("POST", "/api/models/analyze", request(quant), 180000);
      render(report);
      result.hidden = false;
      $("verdict").focus({ preventScroll: true });
      result.scrollIntoView({ block: "start", behavior: "smooth" });
    } catch (err) {
      result.hidden = true;
      showError(errorBox, err);
    } finally {
      btn.disabled = false;
      $("analyze-status").textContent = "";
    }
  }

  // verdictOf normalises the three outcomes: fits, offload, too-large.
  function verdictOf(x) {
    const v = String(x.verdict || "").toLowerCase();
    if (v === "ram_unknown") return "unknown"; // system memory unreadable: no fit is claimed
    if (/too|not|no_fit|nofit/.test(v)) return "too-large";
    if (/offload|partial|cpu/.test(v)) return "offload";
    if (/fit|gpu/.test(v)) return "fits";
    if (x.fits_without_offload === true) return "fits";
    if (x.will_fit === true || x.fits === true) return x.fits_without_offload === false || num(x.cpu_offload_gb) > 0 ? "offload" : "fits";
    if (x.will_fit === false || x.fits === false) return "too-large";
    return "";
  }

  // cpuTarget: the analysis was for the CPU (no GPU detected, or --cpu-only);
  // then "available" memory is system RAM, not VRAM.
  function cpuTarget(r) {
    const h = r.hardware || {};
    if (h.cpu_only || r.cpu_only || h.label === "CPU only") return true;
    return !!(h.target && typeof h.target === "object" && !(h.target.gpus || []).length);
  }

  function hwName(r) {
    const h = r.hardware || {};
    if (typeof h === "string") return h;
    if (cpuTarget(r)) return "the CPU";
    if (h.label) return h.label; // "RTX 4080 (16 GB)", "2× RTX 3090"
    const gpu = h.gpu || (Array.isArray(h.gpus) && h.gpus[0]) || null;
    const name = (gpu && (gpu.name || gpu.model)) || h.gpu_name || h.name || "";
    const vram = num((gpu && (gpu.vram_gb || gpu.memory_gb)) || h.vram_gb || (r.memory || {}).available_gb);
    if (h.cpu_only || r.cpu_only) return "the CPU";
    return (name || "your GPU") + (vram ? " " + Math.round(vram * 10) / 10 + " GB" : "");
  }

  function render(r) {
    const mem = r.memory || {}, perf = r.performance || {};
    const v = verdictOf(r);
    const box = $("verdict");
    box.className = "verdict " + v;
    box.dataset.verdict = v;
    box.tabIndex = -1;
    const target = hwName(r);
    const text = (unified(r) && unifiedText(r, v)) || { fits: "✓ Fits on " + target + (!cpuTarget(r) ? " (no CPU offload)" : num(mem.available_gb) ? " (" + gb(mem.available_gb) + " RAM)" : ""),
      offload: "⚠ Fits on " + target + " with CPU offload",
      "too-large": "✕ Too large for " + target + " even with CPU offload",
      unknown: "? Cannot tell whether it fits: the system memory could not be read" }[v] || "Analysis complete";
    const detail = [];
    if (v === "offload") {
      detail.push(gb(mem.cpu_offload_gb) + " in system RAM");
      if (num(r.gpu_layers) !== null && num(r.total_layers)) detail.push(r.gpu_layers + " of " + r.total_layers + " layers on the GPU");
    }
    // The estimate's advice names fitbench's --ctx flag; the page has a field for it.
    if (r.advice) detail.push((Array.isArray(r.advice) ? r.advice.join(" ") : String(r.advice))
      .replace(/\(--ctx (\d+)\)/g, "(Context in tokens: $1)"));
    box.replaceChildren(text, detail.length ? el("span", { class: "detail" }, detail.join(" · ")) : "");
    renderNotes(r);
    renderDevices(r);
    $("heuristic").hidden = r.source !== "heuristic";

    $("model-name").textContent = r.model_name || r.model_id || "Model";
    $("model-meta").textContent = [r.model_id, r.quantization, r.engine && "engine " + r.engine,
      r.engine_path && "runs on " + ({ "ollama-engine": "Ollama's own engine", "ollama-llamacpp": "Ollama's llama.cpp runner", "llama-server": "llama-server", "vllm": "vLLM" }[r.engine_path] || r.engine_path),
      num(r.context) && "context " + r.context.toLocaleString("en-US") + " tokens",
      r.source && "source: " + r.source].filter(Boolean).join(" · ");

    renderMemory(mem, cpuTarget(r) ? "System RAM" : unified(r) ? "GPU working set" : "GPU memory");
    renderStats(r, mem, perf);
    renderVariants(r);
    renderComparison(r, perf);
    renderCommand(r);
    $("install").disabled = v === "too-large";
    $("install").title = v === "too-large" ? "This variant does not fit; pick a smaller one above" : "";
  }

  // unified: Apple Silicon, where GPU and CPU share one memory; the verdict
  // speaks of that memory and the GPU's working set, not of VRAM + RAM.
  function unified(r) {
    const t = (r.hardware || {}).target || {};
    return !!t.unified_memory && (t.gpus || []).length > 0;
  }

  function unifiedText(r, v) {
    const t = r.hardware.target, g = t.gpus[0];
    const ws = Math.round(num(g.vram_bytes) / 2 ** 30 * 10) / 10, total = Math.round(num(t.ram_bytes) / 2 ** 30);
    return { fits: "✓ Fits in " + g.name + "'s unified memory, all on the GPU (working set " + ws + " GiB)",
      offload: "⚠ Fits in " + g.name + "'s unified memory, but only part runs on the GPU (working set " + ws + " GiB)",
      "too-large": "✕ Too large for " + total + " GiB of unified memory" }[v];
  }

  // renderNotes lists every note and warning of the analysis, in the page's
  // phrasing: hardware notes come as page_notes (fields, not command-line flags).
  function renderNotes(r) {
    let box = $("notes");
    if (!box) {
      box = el("ul", { id: "notes", class: "notes small", "data-testid": "notes" });
      $("verdict").after(box);
    }
    const h = r.hardware || {};
    const all = [].concat(h.page_notes || h.notes || [], r.notes || [], r.warnings || []);
    box.replaceChildren(...[...new Set(all)].map((n) => el("li", {}, n)));
    box.hidden = all.length === 0;
  }

  // renderCommand: the invocation that realises the plan (report.command), each
  // line with a copy button; the block is created after the stats on first use.
  function renderCommand(r) {
    let box = $("command");
    if (!box) {
      box = el("div", { id: "command", class: "command", "data-testid": "command" });
      $("stats").after(box);
    }
    const c = r.command;
    box.hidden = !c;
    if (!c) return;
    const lines = [];
    if (r.engine === "vllm" && c.vllm_line) lines.push(["vLLM", c.vllm_line]);
    else {
      lines.push(["llama-server", c.llama_server_line]);
      lines.push(["Ollama", c.ollama_line]);
    }
    const rows = lines.filter(([, t]) => t).map(([label, text]) => {
      const code = el("code", { class: "cmd" }, text);
      const btn = el("button", { type: "button", class: "copy", "aria-label": "Copy the " + label + " command", onclick: () => copy(text, btn) }, "Copy");
      return el("div", { class: "cmd-row" }, el("span", { class: "muted small" }, label), code, btn);
    });
    const f = r.llama_server_fit;
    if (f && !f.aborted && r.engine !== "vllm") {
      const ts = (f.tensor_split || []).length ? ", -ts " + f.tensor_split.join(",") : "";
      rows.push(el("p", { class: "muted small" }, "llama-server with no -ngl/-c fits by itself: context " + f.n_ctx + ", -ngl " + f.n_gpu_layers + ts + " — " + (f.note || "")));
    }
    if (r.moe_plan) {
      const m = r.moe_plan;
      rows.push(el("p", { class: "small" }, "MoE: " + m.explanation + " — ~" + m.estimated_throughput + " tok/s vs ~" + m.layer_plan_throughput + " with whole layers" + (m.recommended ? " (recommended)" : "")));
    }
    box.replaceChildren(el("h3", {}, "Run it"), ...rows);
  }

  function copy(text, btn) {
    const done = () => { btn.textContent = "Copied"; setTimeout(() => { btn.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else fallbackCopy(text, done);
  }

  // fallbackCopy: plain http on a LAN address has no async clipboard API
  function fallbackCopy(text, done) {
    const t = el("textarea", { readonly: true, class: "offscreen" });
    t.value = text;
    document.body.append(t);
    t.select();
    try { if (document.execCommand("copy")) done(); } finally { t.remove(); }
  }

  // renderDevices: with several GPUs, each one's share of the layers and memory
  // (llama.cpp splits layers by free memory, or by the tensor split given).
  function renderDevices(r) {
    const gpus = ((r.hardware || {}).target || {}).gpus || [];
    const devs = ((r.memory || {}).devices || []).filter((d) => /^GPU\d+$/.test(d.name));
    let box = $("devices");
    if (!box) {
      box = el("ul", { id: "devices", class: "notes small", "data-testid": "devices" });
      $("notes").after(box);
    }
    const weight = (g) => num(g.split) || num(g.free_bytes) || num(g.vram_bytes) || 0;
    const custom = gpus.some((g) => num(g.split) > 0);
    const total = gpus.reduce((a, g) => a + (custom ? num(g.split) || 0 : weight(g)), 0);
    box.replaceChildren(...(gpus.length > 1 ? devs : []).map((d, i) => {
      const g = gpus[i] || {};
      const share = total ? Math.round(100 * (custom ? num(g.split) || 0 : weight(g)) / total) : 0;
      return el("li", {}, d.name + " " + (g.name || "") + ": " + d.layers + (d.layers === 1 ? " layer" : " layers") +
        ", " + gb(num(d.total_bytes) / 1e9) + " (" + share + "% of the layer split)");
    }));
    box.hidden = box.children.length === 0;
  }

  function renderMemory(mem, availLabel) {
    const model = num(mem.model_gb) || 0, kv = num(mem.kv_cache_gb) || 0, over = num(mem.overhead_gb) || 0;
    const total = num(mem.total_gb) || model + kv + over, avail = num(mem.available_gb) || 0;
    const off = Math.min(num(mem.cpu_offload_gb) || 0, total);
    const scale = Math.max(total, avail, 0.001);
    // The offloaded part leaves the GPU: it comes out of the weights first.
    const parts = [
      ["weights", "Weights on GPU", Math.max(0, model - off), model],
      ["kv", "KV cache", kv, kv],
      ["overhead", "Overhead", over, over],
      ["offload", "Offloaded to CPU RAM", off, off],
    ];
    const bar = $("memory-bar");
    bar.replaceChildren();
    for (const [cls, , val] of parts) {
      if (val <= 0) continue;
      const s = el("span", { class: cls });
      s.style.width = (100 * val / scale).toFixed(2) + "%";
      bar.append(s);
    }
    if (avail > 0) {
      const mark = el("span", { class: "vram-mark", title: availLabel + ": " + gb(avail) });
      mark.style.left = "calc(" + (100 * avail / scale).toFixed(2) + "% - 1px)";
      bar.append(mark);
    }
    bar.setAttribute("aria-label", "Memory: " + gb(total) + " needed" + (avail ? " of " + gb(avail) + " " + availLabel.toLowerCase() : "") +
      (off > 0 ? ", " + gb(off) + " offloaded to the CPU" : ""));
    const legend = $("memory-legend");
    legend.replaceChildren();
    for (const [cls, label, val, shown] of parts) {
      if (cls === "offload" && off <= 0) continue;
      const text = cls === "weights" && off > 0 ? "Weights: " + gb(shown) + " (" + gb(val) + " on the GPU)" : label + ": " + gb(shown);
      legend.append(el("li", { class: cls }, el("i"), cls === "weights" && off <= 0 ? "Weights: " + gb(shown) : text));
    }
    if (avail > 0) legend.append(el("li", { class: "vram" }, el("i"), availLabel + ": " + gb(avail)));
    legend.append(el("li", {}, el("strong", {}, "Total: " + gb(total))));
  }

  function renderStats(r, mem, perf) {
    const dl = $("stats");
    const item = (label, value, tag) => el("div", {}, el("dt", {}, label), el("dd", {}, value, tag ? " " : "", tag ? el("span", { class: "tag" }, tag) : ""));
    const calibrated = num(perf.calibrated_throughput) || num(perf.estimated_throughput_calibrated) || num((perf.calibrated || {}).throughput);
    const off = num(mem.cpu_offload_gb) || 0;
    dl.replaceChildren(
      item("Model size", num(r.size_bytes) ? gb(r.size_bytes / 1e9) : gb(mem.model_gb)),
      item("Total memory", gb(mem.total_gb)),
      item("CPU offload", off > 0 ? gb(off) : "None"),
      num(r.gpu_layers) !== null && num(r.total_layers) ? item("GPU layers", r.gpu_layers + " / " + r.total_layers) : "",
      item("Speed", el("span", { id: "speed" }, "~" + toks(perf.estimated_throughput)), "estimate"),
      calibrated ? item("Speed, calibrated", "~" + toks(calibrated), "calibrated estimate") : "",
      num(perf.offload_penalty) ? item("Offload penalty", Math.round(perf.offload_penalty * (perf.offload_penalty <= 1 ? 100 : 1)) + "%") : "",
      item("Quality", stars(perf.quality_stars)),
    );
  }

  function recommendedQuants(rec) {
    const out = new Set();
    const visit = (x, depth) => {
      if (!x || depth > 2) return;
      if (typeof x === "string") { if (depth > 0) out.add(x); return; }
      if (Array.isArray(x)) { x.forEach((y) => visit(y, depth + 1)); return; }
      if (typeof x === "object") {
        if (x.quant) out.add(String(x.quant));
        if (x.quantization) out.add(String(x.quantization)); // the analysis's Pick
        for (const [k, v] of Object.entries(x)) if (typeof v === "object") visit(v, depth + 1);
      }
    };
    visit(rec, 0);
    if (typeof rec === "string") out.add(rec);
    return out;
  }

  function renderVariants(r) {
    const box = $("variants");
    box.replaceChildren();
    const rec = recommendedQuants(r.recommendation);
    for (const v of r.variants || []) {
      const quant = v.quant || v.quantization || "?";
      const fit = verdictOf(v);
      const current = quant === r.quantization;
      // recommended is "full" or "offload" in the analysis (true also accepted).
      const isRec = rec.has(quant) || v.recommended === true || (typeof v.recommended === "string" && v.recommended !== "");
      const label = { fits: "fits", offload: "fits with offload", "too-large": "too large" }[fit] || "";
      const b = el("button", { type: "button", class: "variant " + fit, "aria-pressed": current ? "true" : "false",
        dataset: { quant, fit, recommended: isRec ? "true" : "false" },
        title: label + (isRec ? " · recommended" : ""),
        onclick: () => { if (!current) analyze(quant); } },
        isRec ? el("span", { class: "rec", "aria-label": "recommended" }, "★ ") : "", quant,
        el("span", { class: "size" }, [num(v.size_bytes) ? gb(v.size_bytes / 1e9) : gb(v.size_gb), label, num(v.estimated_throughput) ? "~" + toks(v.estimated_throughput) : ""].filter(Boolean).join(" · ")));
      box.append(b);
    }
    if (!box.children.length) box.append(el("p", { class: "muted" }, "No other variants listed."));
    $("recommendation").textContent = recommendationText(r.recommendation);
  }

  // recommendationText says which variant to pick and why; the analysis sends
  // {best_full: {quantization, reason}, best_offload: {…}}.
  function recommendationText(rec) {
    if (!rec) return "";
    if (typeof rec === "string") return rec;
    const own = rec.summary || rec.message || rec.text;
    if (own) return String(own);
    const picks = [["best_full", "Recommended"], ["best_offload", "With CPU offload"]]
      .filter(([k]) => rec[k] && rec[k].quantization)
      .map(([k, label]) => label + ": " + rec[k].quantization + (rec[k].reason ? " — " + rec[k].reason : ""));
    return picks.join(". ");
  }

  function renderComparison(r, perf) {
    const tbody = $("comparison").tBodies[0];
    tbody.replaceChildren();
    const cmp = r.comparison || {};
    const row = (name, speed, badge, cls) => el("tr", { class: cls },
      el("td", { "data-label": "Model" }, name), el("td", { class: "num", "data-label": "Speed" }, speed),
      el("td", { "data-label": "Comparison" }, badge));
    for (const c of cmp.comparisons || []) tbody.append(row(c.model_name || c.model_id || "?", toks(c.throughput), ratioBadge(c)));
    const name = r.model_name || r.model_id || "This model";
    tbody.append(row(name + (r.quantization && !name.includes(r.quantization) ? " " + r.quantization : ""),
      "~" + toks(perf.estimated_throughput), el("span", { class: "badge new" }, "NEW"), "highlight"));
  }

  async function install() {
    if (!report) return;
    errorBox.hidden = true;
    const btn = $("install");
    btn.disabled = true;
    const body = { model_id: report.model_id, benchmark: true };
    const samples = parseInt($("samples").value, 10);
    if (samples > 0) body.samples = samples; // empty: the server's default (100)
    if (report.quantization && !String(report.model_id || "").includes(":")) body.quant = report.quantization;
    try {
      const job = await api("POST", "/api/models/install", body, 120000);
      follow(job);
    } catch (err) {
      btn.disabled = false;
      showError(errorBox, err);
    }
  }

  const stageText = { analyzing: "Analyzing", downloading: "Downloading", verifying: "Verifying checksum",
    registering: "Registering", benchmarking: "Benchmarking", complete: "Complete", failed: "Failed" };

  // follow shows a job's progress; a dropped connection is retried a few times
  // (the server sends the current state first, so nothing is missed).
  function follow(job, attempt) {
    attempt = attempt || 0;
    $("install-panel").hidden = false;
    $("install-model").textContent = job.model_id;
    if (!attempt) $("install-panel").scrollIntoView({ block: "start", behavior: "smooth" });
    const ws = new WebSocket(wsURL(job.websocket || "/ws/model-install/" + fb.escapeId(job.model_id)));
    let final = false;
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      final = final || ev.status === "complete" || ev.status === "failed";
      progress(ev, job);
    };
    ws.onclose = (e) => {
      if (final) return;
      if (e.code === 4404 || attempt >= 3) {
        progress({ status: "failed", error: e.reason || "lost the connection to the server",
          hint: "reload the workbench to see the model's status" }, job);
        return;
      }
      setTimeout(() => follow(job, attempt + 1), 500 * (attempt + 1));
    };
  }

  function progress(ev, job) {
    const bar = $("progress"), fill = $("progress-fill");
    let pct = Math.max(0, Math.min(100, num(ev.progress) || 0));
    if (ev.status === "complete") pct = 100;
    bar.dataset.status = ev.status || "";
    bar.dataset.progress = String(Math.round(pct * 10) / 10);
    bar.setAttribute("aria-valuenow", String(Math.round(pct)));
    fill.style.width = pct + "%";
    $("progress-stage").textContent = (stageText[ev.status] || ev.status || "Working") + (ev.status === "complete" || ev.status === "failed" ? "" : " — " + pct.toFixed(0) + "%");
    const parts = [];
    if (ev.status === "downloading" || ev.status === "verifying") {
      if (num(ev.total)) parts.push(bytes(ev.bytes || 0) + " of " + bytes(ev.total));
      if (num(ev.speed)) parts.push(bytes(ev.speed) + "/s");
      if (num(ev.eta_s) !== null && ev.status === "downloading") parts.push(duration(ev.eta_s) + " left");
    } else if (ev.status === "benchmarking" && num(ev.samples)) {
      parts.push("sample " + (ev.sample || 0) + " of " + ev.samples);
    }
    if (ev.message) parts.push(ev.message);
    $("progress-text").textContent = parts.join(" · ");
    if (ev.status === "failed") {
      showError(errorBox, { message: ev.error || "The install failed.", hint: ev.hint || "" });
      $("install").disabled = false;
    }
    if (ev.status === "complete") {
      $("progress-text").textContent = "Done — opening the workbench…";
      setTimeout(() => { location.href = "/workbench.html?model=" + fb.escapeId(job.model_id || ev.model_id); }, 1200);
    }
  }
})();
