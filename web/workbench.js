// The workbench: every registered model, a speed-vs-quality chart, benchmark
// history, outputs of two runs side by side, re-benchmark and delete.
"use strict";

(() => {
  const { api, el, num, gb, toks, stars, showError, wsURL, escapeId } = fb;
  const $ = (id) => document.getElementById(id);
  const errorBox = $("error");
  const highlight = new URLSearchParams(location.search).get("model");
  let models = [];

  $("refresh").addEventListener("click", load);
  $("compare-form").addEventListener("submit", (e) => { e.preventDefault(); compare(); });

  async function load() {
    try {
      const data = await api("GET", "/api/models");
      models = data.models || [];
      errorBox.hidden = true;
      renderModels();
      renderChart();
      loadRuns();
    } catch (err) {
      showError(errorBox, err);
    }
  }

  // Zero means "unknown" in the registry.
  const gbOr = (x) => (num(x) > 0 ? gb(x) : "—");

  // The measured decode speed is what the estimate predicts, so the two columns
  // compare like for like; output tok/s (which also counts prompt time) is shown under it.
  function measured(m) { return num(m.decode_tok_s) || num(m.throughput_tokens_per_sec) || num(m.output_tok_s) || 0; }

  function renderModels() {
    const tbody = $("models").tBodies[0];
    tbody.replaceChildren();
    $("empty").hidden = models.length > 0;
    for (const m of models) {
      const mem = num(m.estimated_memory_gb) ? gb(m.estimated_memory_gb) + (num(m.cpu_offload_gb) > 0 ? " (" + gb(m.cpu_offload_gb) + " CPU)" : "") : "—";
      const tr = el("tr", { dataset: { modelId: m.model_id, id: String(m.id), status: m.status },
        class: highlight && (highlight === m.model_id || highlight === String(m.id)) ? "highlight" : "" },
        el("td", { "data-label": "Model" }, el("div", {}, el("strong", {}, m.name || m.model_id), el("br"), el("span", { class: "muted small mid" }, m.model_id))),
        el("td", { "data-label": "Status" }, el("span", { class: "status " + m.status, title: m.status_reason || "" }, m.status),
          m.status === "failed" && m.status_reason ? el("div", { class: "small muted" }, m.status_reason) : ""),
        el("td", { "data-label": "Quant" }, m.quantization_type || "—"),
        el("td", { class: "num", "data-label": "Size" }, gbOr(m.size_gb)),
        el("td", { "data-label": "Quality" }, stars(m.quality_stars)),
        el("td", { class: "num", "data-label": "Estimated" }, num(m.estimated_throughput) ? "~" + toks(m.estimated_throughput) : "—"),
        el("td", { class: "num measured", "data-label": "Measured" }, measured(m) ? toks(measured(m)) : "—",
          num(m.decode_tok_s) && num(m.throughput_tokens_per_sec) ? el("div", { class: "small muted" }, toks(m.throughput_tokens_per_sec) + " output") : ""),
        el("td", { class: "num", "data-label": "Memory" }, mem),
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
        tbody.append(el("tr", { dataset: { runId: String(r.id) } },
          el("td", { "data-label": "Run" }, "#" + r.id), el("td", { "data-label": "Started" }, fmtTime(r.started_at)),
          el("td", { "data-label": "Engine" }, r.engine || "—"), el("td", { class: "num", "data-label": "Samples" }, r.samples),
          el("td", { class: "num", "data-label": "Output tok/s" }, toks(r.output_tok_s)), el("td", { class: "num", "data-label": "Total tok/s" }, toks(r.total_tok_s)),
          el("td", { class: "num", "data-label": "TTFT p50" }, ms(r.ttft_p50_ms)), el("td", { class: "num", "data-label": "Latency p50" }, ms(r.e2e_p50_ms)),
          el("td", { "data-label": "Status" }, el("span", { class: "status " + r.status, title: r.error || "" }, r.status))));
      }
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: "9", class: "muted" }, "No benchmark runs yet.")));
      $("history").hidden = false;
      $("history").scrollIntoView({ block: "start", behavior: "smooth" });
    } catch (err) { showError(errorBox, err); }
  }

  function fmtTime(t) {
    const d = new Date(t);
    return isNaN(d) || d.getFullYear() < 2000 ? "—" : d.toLocaleString();
  }

  // loadRuns fills the two run pickers with every run of every model.
  async function loadRuns() {
    const opts = [];
    for (const m of models) {
      try {
        const data = await api("GET", "/api/models/" + m.id + "/benchmarks");
        for (const r of data.runs || []) opts.push({ id: r.id, label: `${m.model_id} — run #${r.id} (${r.samples} samples, ${r.status})` });
      } catch (e) { /* a model deleted meanwhile */ }
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
        const cell = (o) => el("td", { class: "output" }, o.error ? "error: " + o.error : o.output);
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
