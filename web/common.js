// Shared helpers for the fitbench pages: API calls, formatting, DOM building.
// Plain ES2017, no build step; every value from the server goes through
// textContent (never innerHTML), so model names cannot inject markup.
"use strict";

const fb = (() => {
  // api calls the JSON API and throws an Error carrying .hint and .status on
  // {"success": false} answers, so callers show both in place.
  // Every call has a deadline (timeoutMs, default 30 s; an analysis, which
  // reads remote headers under the server's own per-phase deadlines, gets
  // more), so a stuck request ends with a message instead of a spinner.
  async function api(method, url, body, timeoutMs) {
    const ms = timeoutMs || 30000;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), ms);
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin", signal: ctl.signal };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    let data = null;
    try {
      try {
        resp = await fetch(url, opts);
      } catch (e) {
        if (ctl.signal.aborted) {
          throw withHint(new Error("the fitbench server did not answer within " + Math.round(ms / 1000) + " s"),
            "the Hub or the server may be slow; try again", 0);
        }
        throw withHint(new Error("cannot reach the fitbench server"), "is `fitbench serve` still running?", 0);
      }
      try { data = await resp.json(); } catch (e) { /* not JSON, or cut off by the deadline */ }
    } finally {
      clearTimeout(timer);
    }
    if (!resp.ok || (data && data.success === false)) {
      const msg = (data && data.error) || ("HTTP " + resp.status);
      throw withHint(new Error(msg), data && data.hint, resp.status);
    }
    return data;
  }

  function withHint(err, hint, status) {
    err.hint = hint || "";
    err.status = status;
    return err;
  }

  // el builds an element: el("td", {class: "num", dataset: {x: 1}}, "text", child…)
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k === "dataset") Object.assign(n.dataset, v);
      else if (k === "text") n.textContent = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  function num(x) { return typeof x === "number" && isFinite(x) ? x : null; }

  function gb(x, digits) {
    x = num(x);
    if (x !== null && x > 0 && x < 0.1 && digits === undefined) return (x * 1000).toFixed(1) + " MB"; // test-sized models
    return x === null ? "—" : x.toFixed(digits === undefined ? (x < 10 ? 2 : 1) : digits) + " GB";
  }

  function toks(x) {
    x = num(x);
    if (x === null || x <= 0) return "—";
    return (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1)) + " tok/s";
  }

  function bytes(n) {
    n = num(n);
    if (n === null) return "—";
    const u = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
  }

  function duration(s) {
    s = num(s);
    if (s === null || s < 0) return "—";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  // stars renders 1–5 stars with a text alternative for screen readers.
  function stars(n) {
    n = Math.max(0, Math.min(5, Math.round(num(n) || 0)));
    if (!n) return el("span", { class: "muted" }, "—");
    return el("span", { class: "stars", role: "img", "aria-label": n + " of 5 stars", title: n + " of 5" },
      "★".repeat(n) + "☆".repeat(5 - n));
  }

  // ratioBadge: ratio = this model's speed / the other's. "3.6× slower" etc.
  function ratioBadge(c) {
    if (c.label && /new/i.test(c.label)) return el("span", { class: "badge new" }, "NEW");
    const r = num(c.ratio);
    if (r === null || r <= 0) return el("span", { class: "badge" }, c.label || "—");
    const faster = c.faster !== undefined ? !!c.faster : r >= 1;
    const f = faster ? r : 1 / r;
    return el("span", { class: "badge " + (faster ? "faster" : "slower") },
      f.toFixed(1) + "× " + (faster ? "faster" : "slower"));
  }

  // showError puts a message and its hint in the page's alert box.
  function showError(box, err) {
    box.replaceChildren(el("strong", {}, err.message || String(err)));
    if (err.hint) box.append(el("span", { class: "hint" }, err.hint));
    box.hidden = false;
  }

  // wsURL turns a server-relative WebSocket path into an absolute ws(s) URL.
  function wsURL(path) {
    const u = new URL(path, location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }

  // escapeId makes a model id safe as one URL path segment.
  function escapeId(id) { return encodeURIComponent(String(id)); }

  return { api, el, num, gb, toks, bytes, duration, stars, ratioBadge, showError, wsURL, escapeId };
})();
