// The workbench: every registered model, a speed-vs-quality chart, benchmark
// history, outputs of two runs side by side, re-benchmark and delete.
"use strict";

(() => {
  const { api, el, num, gb, toks, stars, showError, wsURL, escapeId } = fb;
  // Every memory figure is GB = 10^9 bytes, as in the CLI and the API's _gb fields.
  const gbBytes = (b) => (num(b) > 0 ? gb(b / 1e9) : "—");
  const pct = (e) => (num(e) === null ? "" : (e >= 0 ? "+" : "−") + Math.abs(100 * e).toFixed(0) + "%");
  const $ = (id) => document.getElementById(id);
  const errorBox = $("error");
  const highlight = new URLSearchParams(location.search).get("model");
  let models = [];
  let runsOf = new Map(); // model_id → its runs, newest first

  $("refresh").addEventListener("click", load);
  $("compare-form").addEventListener("submit", (e) => { e.preventDefault(); compare(); });

  async function load() {
    try {
      const data = await api("GET", "/api/models");
      models = data.models || [];
      errorBox.hidden = true;
      runsOf = await fetchRuns(models);
      renderModels();
      renderChart();
      fillRunPickers();
    } catch (err) {
      showError(errorBox, err);
    }
  }

  // Zero means "unknown" in the registry.
  const gbOr = (x) => (num(x) > 0 ? gb(x) : "—");

  // The measured decode speed is what the estimate predicts, so the two columns
  // compare like for like; output tok/s (which also counts prompt time) is shown under it.
  function measured(m) { return num(m.decode_tok_s) || num(m.throughput_tokens_per_sec) || num(m.output_tok_s) || 0; }

  // latest is a model's newest completed run that carries its own estimate.
  function latest(m) {
    return (runsOf.get(m.model_id) || []).find((r) => r.status === "completed" && r.comparison) || null;
  }

  // estimateCell shows the estimate made for the latest run's own settings when
  // there is one (like for like with the measurement beside it), else the
  // install's analysis, saying which.
  function estimateCell(m) {
    const r = latest(m);
    if (r) {
      const s = r.settings || {};
      return el("td", { class: "num", "data-label": "Est. decode", title: `estimate for run #${r.id}'s settings: context ${s.context_per_sequence} × ${s.parallel || 1}, ${s.cache_type || "f16"} cache, ${r.engine}` },
        "~" + toks(r.comparison.estimated_decode_tok_s), el("div", { class: "small muted" }, "for run #" + r.id));
    }
    return el("td", { class: "num", "data-label": "Est. decode", title: "estimate of the install's analysis" },
      num(m.estimated_throughput) ? "~" + toks(m.estimated_throughput) : "—", num(m.estimated_throughput) ? el("div", { class: "small muted" }, "analysis") : "");
  }

  function memoryCell(m) {
    const r = latest(m);
    if (r && num(r.comparison.measured_memory_bytes) > 0) {
      const c = r.comparison;
      return el("td", { class: "num", "data-label": "Memory", title: "measured by the engine / estimate for the run's settings" },
        gbBytes(c.measured_memory_bytes) + " measured", el("div", { class: "small muted" }, "est. " + gbBytes(c.estimated_memory_bytes) + (c.memory_error !== undefined ? " (" + pct(c.memory_error) + ")" : "")));
    }
    const est = num(m.estimated_memory_gb) ? gb(m.estimated_memory_gb) + (num(m.cpu_offload_gb) > 0 ? " (" + gb(m.cpu_offload_gb) + " CPU)" : "") : "—";
    return el("td", { class: "num", "data-label": "Memory", title: "estimate of the install's analysis" }, est, est !== "—" ? el("div", { class: "small muted" }, "estimate") : "");
  }

  function renderModels() {
    const tbody = $("models").tBodies[0];
    tbody.replaceChildren();
    $("empty").hidden = models.length > 0;
    for (const m of models) {
      const r = latest(m);
      const tr = el("tr", { dataset: { modelId: m.model_id, id: String(m.id), status: m.status },
        class: highlight && (highlight === m.model_id || highlight === String(m.id)) ? "highlight" : "" },
        el("td", { "data-label": "Model" }, el("div", {}, el("strong", {}, m.name || m.model_id), el("br"), el("span", { class: "muted small mid" }, m.model_id))),
        el("td", { "data-label": "Status" }, el("span", { class: "status " + m.status, title: m.status_reason || "" }, m.status),
          m.status === "failed" && m.status_reason ? el("div", { class: "small muted" }, m.status_reason) : ""),
        el("td", { "data-label": "Quant" }, m.quantization_type || "—"),
        el("td", { class: "num", "data-label": "Size" }, gbOr(m.size_gb)),
        el("td", { "data-label": "Quality" }, stars(m.quality_stars)),
        estimateCell(m),
        el("td", { class: "num measured", "data-label": "Measured" }, measured(m) ? toks(measured(m)) : "—",
          r && r.comparison.decode_error !== undefined ? el("div", { class: "small muted", title: "estimate/measured − 1 for the run's own settings" }, "estimate " + pct(r.comparison.decode_error)) : "",
          num(m.decode_tok_s) && num(m.throughput_tokens_per_sec) ? el("div", { class: "small muted" }, toks(m.throughput_tokens_per_sec) + " output (harness)") : ""),
        memoryCell(m),
        el("td", { "data-label": "Actions" }, el("div", { class: "actions" },
          el("button", { type: "button", class: "secondary", onclick: () => history(m), "aria-label": "Benchmark history of " + m.model_id }, "History"),
          el("button", { type: "button", class: "secondary", onclick: (e) => rebench(m, e.currentTarget), "aria-label": "Benchmark " + m.model_id + " again" }, "Re-benchmark"),
          el("a", { class: "button secondary", href: "/batch.html?model=" + encodeURIComponent(m.model_id), "data-testid": "use-in-production", "aria-label": "Use " + m.model_id + " in production (batch jobs)" }, "Use in production"),
          el("button", { type: "button", class: "danger", onclick: () => remove(m), "aria-label": "Delete " + m.model_id }, "Delete"))));
      tbody.append(tr);
    }
    const hl = tbody.querySelector("tr.highlight");
    if (hl) hl.scrollIntoView({ block: "center" });
  }

  // renderChart draws speed (x, log scale) against quality stars (y) as SVG.
  function renderChart() {
    const NS = "http://www.w3.org/2000/svg";
    const svgEl = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      return n;
    };
    const W = 640, H = 300, L = 48, R = 16, T = 16, B = 40;
    const pts = models.map((m) => ({ m, speed: measured(m) || num(m.estimated_throughput) || 0, isMeasured: measured(m) > 0, q: num(m.quality_stars) || 0 }))
      .filter((p) => p.speed > 0);
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Speed versus quality of " + pts.length + " models" });
    const max = Math.max(10, ...pts.map((p) => p.speed)), min = Math.max(0.1, Math.min(max / 10, ...pts.map((p) => p.speed)));
    const lo = Math.log10(min) - 0.1, hi = Math.log10(max) + 0.1;
    const x = (s) => L + (W - L - R) * (Math.log10(s) - lo) / (hi - lo);
    const y = (q) => H - B - (H - T - B) * q / 5;
    svg.append(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }), svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
    for (let q = 1; q <= 5; q++) svg.append(svgEl("text", { x: L - 8, y: y(q) + 4, "text-anchor": "end" }, q + "★"));
    // Ticks at 1, 2 and 5 of each decade; only 1s when the range is wide.
    const steps = hi - lo > 2.5 ? [1] : [1, 2, 5];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of steps) {
        const v = m * 10 ** e;
        if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
        svg.append(svgEl("line", { class: "axis", x1: x(v), y1: H - B, x2: x(v), y2: H - B + 4 }),
          svgEl("text", { x: x(v), y: H - B + 16, "text-anchor": "middle" }, v >= 1 ? v.toLocaleString("en-US") : String(v)));
      }
    }
    svg.append(svgEl("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "tokens per second (log scale)"));
    for (const p of pts) {
      const cx = x(p.speed), cy = y(p.q);
      const c = svgEl("circle", { class: "pt " + (p.isMeasured ? "measured" : "estimated"), cx, cy, r: 6, "data-model-id": p.m.model_id });
      c.append(svgEl("title", {}, `${p.m.model_id}: ${toks(p.speed)} (${p.isMeasured ? "measured" : "estimate"}), ${p.q} stars`));
      svg.append(c, svgEl("text", { class: "lbl", x: cx + 9, y: cy - 8 }, p.m.quantization_type || p.m.name || ""));
    }
    $("chart").replaceChildren(pts.length ? svg : el("p", { class: "muted" }, "No speeds yet."));
  }

  async function history(m) {
    try {
      const data = await api("GET", "/api/models/" + m.id + "/benchmarks");
      const tbody = $("runs").tBodies[0];
      tbody.replaceChildren();
      $("history-title").textContent = "Benchmark history — " + m.model_id;
      for (const r of data.runs || []) {
        const ms = (v) => (num(v) ? Math.round(v) + " ms" : "—");
        const c = r.comparison || {};
        const info = r.engine_info || {};
        const s = r.settings || {};
        const engine = [r.engine || "—", info.version, info.path ? "(" + info.path + ")" : ""].filter(Boolean).join(" ");
        const errs = (r.error_reasons || []).map((e) => el("li", {}, `${e.count}× ${e.reason}`));
        tbody.append(el("tr", { dataset: { runId: String(r.id) } },
          el("td", { "data-label": "Run" }, "#" + r.id), el("td", { "data-label": "Started" }, fmtTime(r.started_at)),
          el("td", { "data-label": "Engine" }, engine,
            info.build ? el("div", { class: "small muted" }, info.build) : "", info.cpu_only ? el("div", { class: "small muted" }, "ran on the CPU only") : "",
            s.context_per_sequence ? el("div", { class: "small muted" }, `ctx ${s.context_per_sequence} × ${s.parallel || 1}, ${s.cache_type || "f16"} cache`) : ""),
          el("td", { class: "num", "data-label": "Samples" }, String(r.samples), el("div", { class: "small muted" }, stopText(r.stop_reasons))),
          el("td", { class: "num", "data-label": "Decode (engine)" }, toks(r.engine_tok_s)),
          el("td", { class: "num", "data-label": "Estimate" }, num(c.estimated_decode_tok_s) ? "~" + toks(c.estimated_decode_tok_s) : "—",
            c.decode_error !== undefined ? el("div", { class: "small muted" }, pct(c.decode_error)) : ""),
          el("td", { class: "num", "data-label": "Memory" }, num(c.measured_memory_bytes) ? gbBytes(c.measured_memory_bytes) : gbBytes((r.mem_gpu_bytes || 0) + (r.mem_cpu_bytes || 0)),
            num(c.estimated_memory_bytes) ? el("div", { class: "small muted" }, "est. " + gbBytes(c.estimated_memory_bytes) + (c.memory_error !== undefined ? " (" + pct(c.memory_error) + ")" : "")) : ""),
          el("td", { class: "num", "data-label": "Output tok/s (harness)" }, toks(r.output_tok_s)),
          el("td", { class: "num", "data-label": "TTFT p50 (harness)" }, ms(r.ttft_p50_ms)), el("td", { class: "num", "data-label": "E2E p50 (harness)" }, ms(r.e2e_p50_ms)),
          el("td", { "data-label": "Status" }, el("span", { class: "status " + r.status, title: r.error || "" }, r.status),
            r.errors ? el("div", { class: "small" }, r.errors + " failed:", el("ul", { class: "errors" }, ...errs)) : "",
            r.error ? el("div", { class: "small muted" }, r.error) : "")));
      }
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: "11", class: "muted" }, "No benchmark runs yet.")));
      $("history").hidden = false;
      $("history").scrollIntoView({ block: "start", behavior: "smooth" });
    } catch (err) { showError(errorBox, err); }
  }

  function stopText(m) {
    const e = Object.entries(m || {});
    return e.length ? "ended: " + e.map(([k, v]) => `${k} ${v}`).join(", ") : "";
  }

  function fmtTime(t) {
    const d = new Date(t);
    return isNaN(d) || d.getFullYear() < 2000 ? "—" : d.toLocaleString();
  }

  // fetchRuns reads every model's runs once per load (the table and the pickers use them).
  async function fetchRuns(list) {
    const out = new Map();
    await Promise.all(list.map(async (m) => {
      try {
        const data = await api("GET", "/api/models/" + m.id + "/benchmarks");
        out.set(m.model_id, data.runs || []);
      } catch (e) { /* a model deleted meanwhile */ }
    }));
    return out;
  }

  // fillRunPickers fills the two run pickers with every run of every model.
  function fillRunPickers() {
    const opts = [];
    for (const m of models) {
      for (const r of runsOf.get(m.model_id) || []) opts.push({ id: r.id, label: `${m.model_id} — run #${r.id} (${r.samples} samples, ${r.status})` });
    }
    for (const [i, sel] of [$("run-a"), $("run-b")].entries()) {
      const keep = sel.value;
      sel.replaceChildren(...opts.map((o) => el("option", { value: String(o.id) }, o.label)));
      if (keep) sel.value = keep; else if (opts[i]) sel.value = String(opts[i].id);
    }
    $("compare").disabled = opts.length === 0;
  }

  async function compare() {
    const a = $("run-a").value, b = $("run-b").value;
    if (!a || !b) return;
    try {
      const [ra, rb] = await Promise.all([api("GET", "/api/benchmarks/" + a + "/outputs"), api("GET", "/api/benchmarks/" + b + "/outputs")]);
      $("compare-a").textContent = "A: " + (ra.run ? ra.run.model_id + " #" + ra.run.id : a);
      $("compare-b").textContent = "B: " + (rb.run ? rb.run.model_id + " #" + rb.run.id : b);
      const key = (o) => o.prompt_id || "#" + o.sample_index;
      const bmap = new Map((rb.outputs || []).map((o) => [key(o), o]));
      const tbody = $("compare-table").tBodies[0];
      tbody.replaceChildren();
      for (const oa of ra.outputs || []) {
        const ob = bmap.get(key(oa));
        if (!ob) continue;
        const cell = (o) => el("td", { class: "output" }, o.error ? "error: " + o.error : o.output,
          !o.error && o.stop_reason && o.stop_reason !== "stop" ? el("div", { class: "small muted" }, "ended: " + o.stop_reason) : "");
        tbody.append(el("tr", {}, el("td", { class: "output" }, oa.prompt || key(oa)), cell(oa), cell(ob)));
      }
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: "3", class: "muted" }, "These runs share no samples.")));
      $("compare-table").hidden = false;
    } catch (err) { showError(errorBox, err); }
  }

  async function rebench(m, btn) {
    btn.disabled = true;
    try {
      const job = await api("POST", "/api/models/" + m.id + "/benchmark", {});
      const row = $("models").querySelector(`tr[data-id="${m.id}"]`);
      const cell = row && row.querySelector(".status");
      const ws = new WebSocket(wsURL(job.websocket || "/ws/model-install/" + escapeId(m.model_id)));
      ws.onmessage = (msg) => {
        let ev; try { ev = JSON.parse(msg.data); } catch (e) { return; }
        if (cell) cell.textContent = ev.status + (ev.samples ? ` ${ev.sample || 0}/${ev.samples}` : "");
        if (row) row.dataset.status = ev.status;
        if (ev.status === "failed") showError(errorBox, { message: ev.error || "benchmark failed", hint: ev.hint });
      };
      ws.onclose = () => { btn.disabled = false; load(); };
    } catch (err) { btn.disabled = false; showError(errorBox, err); }
  }

  async function remove(m) {
    if (!confirm(`Delete ${m.model_id}? Its benchmark history goes with it.`)) return;
    try {
      await api("DELETE", "/api/models/" + m.id);
      $("notice").textContent = "Deleted " + m.model_id + ".";
      $("notice").hidden = false;
      load();
    } catch (err) { showError(errorBox, err); }
  }

  load();
})();
