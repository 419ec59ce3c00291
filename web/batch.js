// Batch jobs page: start a job on an installed model (upload a file or name
// one in the data directory), then follow it live over the WebSocket with a
// progress bar, cancel or resume it, and download its output and error files.
"use strict";

(() => {
  const { api, el, num, toks, duration, showError, wsURL } = fb;
  const $ = (id) => document.getElementById(id);
  const errBox = $("error");
  let current = null; // the job shown
  let socket = null;

  async function loadModels() {
    const data = await api("GET", "/api/models");
    const models = data.models || data || [];
    const want = new URLSearchParams(location.search).get("model");
    $("model").replaceChildren(...models.map((m) =>
      el("option", { value: m.model_id, selected: m.model_id === want }, m.model_id + " (" + m.status + ")")));
  }

  async function loadJobs() {
    const data = await api("GET", "/api/batch");
    const jobs = data.jobs || [];
    $("no-jobs").hidden = jobs.length > 0;
    $("jobs").querySelector("tbody").replaceChildren(...jobs.map((j) => el("tr", { dataset: { jobId: j.id, state: j.state } },
      el("td", { "data-label": "Job" }, el("a", { href: "/batch.html?job=" + j.id, onclick: (e) => { e.preventDefault(); show(j.id); } }, "#" + j.id)),
      el("td", { "data-label": "State" }, j.state),
      el("td", { "data-label": "Model" }, j.model_id || j.engine),
      el("td", { class: "num", "data-label": "Done" }, j.done_lines),
      el("td", { class: "num", "data-label": "Failed" }, j.failed_lines),
      el("td", { class: "num", "data-label": "Total" }, j.total_lines),
      el("td", { class: "num", "data-label": "Output tok/s" }, toks(j.output_tok_s)),
      el("td", { "data-label": "Created" }, new Date(j.created_at).toLocaleString()))));
  }

  async function start(e) {
    e.preventDefault();
    errBox.hidden = true;
    const btn = $("start");
    btn.disabled = true;
    try {
      const model = $("model").value, file = $("file").files[0], path = $("path").value.trim();
      const conc = parseInt($("concurrency").value, 10) || 0, maxTok = parseInt($("max-tokens").value, 10) || 0;
      let data;
      if (file) {
        const q = new URLSearchParams({ model_id: model });
        if (conc) q.set("concurrency", conc);
        if (maxTok) q.set("max_tokens", maxTok);
        const resp = await fetch("/api/batch?" + q, { method: "POST", body: file, credentials: "same-origin",
          headers: { "Content-Type": "application/jsonl", Accept: "application/json" } });
        data = await resp.json().catch(() => ({ success: false, error: "HTTP " + resp.status }));
        if (!resp.ok || data.success === false) {
          const err = new Error(data.error || "HTTP " + resp.status);
          err.hint = data.hint;
          throw err;
        }
      } else if (path) {
        data = await api("POST", "/api/batch", { model_id: model, path, concurrency: conc || undefined, max_tokens: maxTok || undefined });
      } else {
        throw Object.assign(new Error("choose a file to upload or give a path"), { hint: "the file holds one Batch API request per line" });
      }
      show(data.job.id);
    } catch (err) {
      showError(errBox, err);
    } finally {
      btn.disabled = false;
    }
  }

  async function show(id) {
    history.replaceState(null, "", "/batch.html?job=" + id);
    const data = await api("GET", "/api/batch/" + id);
    current = data.job;
    $("job").hidden = false;
    $("job-title").textContent = "Batch job #" + current.id;
    $("job-meta").textContent = (current.model_id || current.engine) + " · " + current.total_lines + " requests";
    $("download-output").href = current.output_url;
    $("download-errors").href = current.errors_url;
    render(current.progress);
    follow(current, 0);
  }

  function follow(job, attempt) {
    if (socket) { socket.onclose = null; socket.close(); }
    const ws = new WebSocket(wsURL(job.websocket));
    socket = ws;
    let final = false;
    ws.onmessage = (m) => {
      const s = JSON.parse(m.data);
      render(s);
      final = ["completed", "failed", "cancelled"].includes(s.state);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      if (final) { loadJobs().catch(() => {}); return; }
      if (attempt < 20) setTimeout(() => follow(job, attempt + 1), 1000);
    };
  }

  function render(s) {
    const pct = Math.max(0, Math.min(100, num(s.progress) || 0));
    const bar = $("progress");
    bar.dataset.state = s.state;
    bar.dataset.status = s.state === "completed" ? "complete" : s.state === "failed" ? "failed" : s.state;
    bar.dataset.progress = pct.toFixed(1);
    bar.setAttribute("aria-valuenow", Math.round(pct));
    $("progress-fill").style.width = pct + "%";
    $("job-state").textContent = s.state + " — " + pct.toFixed(1) + "%";
    const parts = [s.done + " done", s.failed + " failed", s.pending + " pending of " + s.total,
      s.prompt_tokens + " tokens in", s.output_tokens + " out"];
    if (num(s.lines_per_s) > 0) parts.push(s.lines_per_s.toFixed(2) + " lines/s", toks(s.output_tok_s));
    if (num(s.eta_s) > 0 && s.state === "running") parts.push("ETA " + duration(s.eta_s));
    $("progress-text").textContent = parts.join(" · ");
    $("progress-text").dataset.done = s.done;
    $("progress-text").dataset.failed = s.failed;
    $("job-error").hidden = !s.error;
    $("job-error").textContent = s.error || "";
    const live = s.state === "queued" || s.state === "running";
    $("cancel").hidden = !live;
    $("resume").hidden = live || s.state === "completed";
  }

  async function action(name) {
    if (!current) return;
    try {
      const data = await api("POST", "/api/batch/" + current.id + "/" + name, {});
      render(data.job.progress);
      if (name === "resume") follow(data.job, 0);
    } catch (err) {
      showError(errBox, err);
    }
  }

  $("new-job").addEventListener("submit", start);
  $("cancel").addEventListener("click", () => action("cancel"));
  $("resume").addEventListener("click", () => action("resume"));
  $("refresh").addEventListener("click", () => loadJobs().catch((e) => showError(errBox, e)));
  loadModels().catch((e) => showError(errBox, e));
  loadJobs().catch((e) => showError(errBox, e));
  const job = new URLSearchParams(location.search).get("job");
  if (job) show(job).catch((e) => showError(errBox, e));
})();
