// Pylon admin UI: one ES module, no dependencies, embedded in the binary.
//
// Safety rule: every piece of text that comes from the server (config text, names, paths,
// hosts, errors) reaches the page through textContent or DOM calls, never as HTML. The
// page's Content-Security-Policy requires Trusted Types with no policy, so an HTML sink
// given a string would throw instead of parsing it.

"use strict";

// ---------------------------------------------------------------------------------------
// DOM helpers

/** An element: `el("div", {class: "x", onclick: f}, "text", child)`. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element, as `el`. */
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      node.addEventListener(k.slice(2), v);
    } else if (k === "dataset") {
      Object.assign(node.dataset, v);
    } else if (k === "text") {
      node.textContent = String(v);
    } else if (k === "value") {
      node.value = v;
    } else {
      node.setAttribute(k, v === true ? "" : String(v));
    }
  }
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const $ = (sel, root = document) => root.querySelector(sel);

/** Replace the children of `node`. */
function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function toast(message, kind = "info") {
  const t = el("div", { class: `toast toast-${kind}` }, message);
  const box = $("#toasts");
  box.append(t);
  const keep = window.innerWidth < 720 ? 1 : 3;
  while (box.children.length > keep) box.firstElementChild.remove();
  setTimeout(() => t.remove(), 6000);
}

function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return Number(n).toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  if (s === Infinity) return "> 30 s";
  if (s < 1) return `${fmtNumber(s * 1000, s < 0.01 ? 1 : 0)} ms`;
  return `${fmtNumber(s, 2)} s`;
}

function fmtDuration(secs) {
  const d = Math.floor(secs / 86400), h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60), s = Math.floor(secs % 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function fmtTime(ms) {
  return new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" });
}

// ---------------------------------------------------------------------------------------
// API

const session = { csrf: null, user: null, authRequired: true };

class ApiError extends Error {
  constructor(status, data) {
    super((data && data.error) || `HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

/** A request to the admin API (paths are relative to the page: the admin may live under a
 * server's admin_path). Resolves to `{status, data, headers}`; throws ApiError on >= 400
 * unless `allow` lists the status. */
async function api(method, path, { body, headers = {}, allow = [] } = {}) {
  const h = { ...headers };
  if (method !== "GET" && session.csrf) h["X-CSRF-Token"] = session.csrf;
  if (typeof body === "object" && body !== null) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const resp = await fetch(path, { method, headers: h, body, credentials: "same-origin", cache: "no-store" });
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.text();
  if (resp.status === 401 && path !== "api/login") {
    showLogin("Your session ended: log in again.");
    throw new ApiError(401, data);
  }
  if (resp.status >= 400 && !allow.includes(resp.status)) throw new ApiError(resp.status, data);
  return { status: resp.status, data, headers: resp.headers };
}

// ---------------------------------------------------------------------------------------
// Shell: login, navigation, pages

const pages = {};
let timers = [];
let leaveGuard = null;

function clearTimers() {
  for (const t of timers) clearInterval(t);
  timers = [];
}

function every(ms, f) {
  f();
  timers.push(setInterval(f, ms));
}

function showLogin(message) {
  clearTimers();
  session.user = null;
  session.csrf = null;
  $("#nav").hidden = true;
  $("#who").hidden = true;
  $("#logout").hidden = true;
  const user = el("input", { id: "login-user", name: "user", autocomplete: "username", required: true });
  const password = el("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = el("p", { id: "login-error", class: "callout callout-error", role: "alert", hidden: true });
  const submit = el("button", { id: "login-submit", class: "btn btn-primary", type: "submit" }, "Log in");
  const form = el("form", { class: "card login", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const r = await api("POST", "api/login", { body: { user: user.value, password: password.value }, allow: [401, 429, 400] });
      if (r.status !== 200) {
        fill(error, r.data.error || `login failed (${r.status})`);
        error.hidden = false;
        return;
      }
      session.user = r.data.user;
      session.csrf = r.data.csrf;
      startApp();
    } catch (err) {
      fill(error, err.message);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  } },
    el("h1", {}, "Log in"),
    el("p", { class: "muted" }, "Pylon admin: a user of this proxy's [admin] users."),
    message ? el("p", { class: "callout" }, message) : null,
    el("label", { for: "login-user" }, "User"), user,
    el("label", { for: "login-password" }, "Password"), password,
    error, submit);
  fill($("#main"), form);
  user.focus();
}

async function refreshVersion() {
  try {
    const r = await api("GET", "api/health");
    const badge = $("#version");
    badge.textContent = r.data.config_version;
    badge.hidden = false;
  } catch (_) { /* shown by the page */ }
}

function startApp() {
  $("#nav").hidden = false;
  fill($("#who"), session.user || "");
  $("#who").hidden = !session.authRequired;
  $("#logout").hidden = !session.authRequired;
  refreshVersion();
  route();
}

function route() {
  if (!session.user) return;
  const name = (location.hash.replace(/^#\//, "") || "dashboard").split("?")[0];
  const page = pages[name] || pages.dashboard;
  clearTimers();
  leaveGuard = null;
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.page === name);
    if (a.dataset.page === name) {
      a.setAttribute("aria-current", "page");
      a.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    else a.removeAttribute("aria-current");
  }
  const main = $("#main");
  main.replaceChildren();
  page(main).catch((err) => {
    if (err instanceof ApiError && err.status === 401) return;
    main.append(el("p", { class: "callout callout-error" }, `Could not load this page: ${err.message}`));
  });
}

window.addEventListener("hashchange", () => {
  if (leaveGuard && !leaveGuard()) return;
  route();
});

$("#logout").addEventListener("click", async () => {
  try { await api("POST", "api/logout"); } catch (_) { /* logged out anyway */ }
  showLogin("Logged out.");
});

async function boot() {
  try {
    const r = await api("GET", "api/session");
    session.authRequired = r.data.auth_required;
    if (r.data.user) {
      session.user = r.data.user;
      session.csrf = r.data.csrf;
      startApp();
    } else {
      showLogin();
    }
  } catch (err) {
    fill($("#main"), el("p", { class: "callout callout-error" }, `The admin API did not answer: ${err.message}`));
  }
}

function section(title, ...children) {
  return el("section", { class: "card" }, el("h2", {}, title), ...children);
}

function table(headers, rows, attrs = {}) {
  return el("div", { class: "table-wrap" },
    el("table", attrs,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

/** The useful end of a health-check error (pingora's errors nest their causes). */
function shortError(text) {
  const t = (text || "").trim();
  const i = t.lastIndexOf("cause:");
  const tail = (i >= 0 ? t.slice(i + 6) : t).trim();
  return tail.length > 120 ? `${tail.slice(0, 117)}…` : tail;
}

function healthDot(healthy) {
  return el("span", { class: `dot ${healthy ? "dot-up" : "dot-down"}`, title: healthy ? "healthy" : "unhealthy" });
}

// ---------------------------------------------------------------------------------------
// Dashboard

/** The `q` quantile of a cumulative histogram `[[le, count], …]`: the upper bound of the
 * first bucket holding it (what Prometheus' histogram_quantile approximates further). */
function quantile(hist, q) {
  if (!hist || !hist.count) return null;
  const want = q * hist.count;
  for (const [le, n] of hist.buckets) {
    if (n >= want) return le === "+Inf" ? Infinity : le;
  }
  return null;
}

const CLASSES = ["2xx", "3xx", "4xx", "5xx"];
const rateHistory = [];

function rateChart(points, width) {
  const w = Math.max(240, Math.round(width || 600)), h = 120, pad = 4;
  const max = Math.max(1, ...points.map((p) => p.rate));
  const x = (i) => pad + ((i + 60 - points.length) * (w - 2 * pad)) / 59;
  const y = (v) => h - pad - (v / max) * (h - 2 * pad);
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`).join(" ");
  const area = points.length ? `${x(0).toFixed(1)},${h - pad} ${line} ${x(points.length - 1).toFixed(1)},${h - pad}` : "";
  return svg("svg", { class: "chart", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "Requests per second, last two minutes" },
    svg("line", { x1: pad, x2: w - pad, y1: y(max), y2: y(max), class: "grid" }),
    svg("line", { x1: pad, x2: w - pad, y1: y(max / 2), y2: y(max / 2), class: "grid" }),
    svg("line", { x1: pad, x2: w - pad, y1: y(0), y2: y(0), class: "base" }),
    svg("text", { x: pad, y: y(max) + 12, class: "axis" }, `${fmtNumber(max, 1)}/s`),
    svg("text", { x: pad, y: y(0) - 4, class: "axis" }, "2 min ago"),
    svg("text", { x: w - pad, y: y(0) - 4, class: "axis", "text-anchor": "end" }, "now"),
    points.length < 2 ? svg("text", { x: w / 2, y: h / 2, class: "axis", "text-anchor": "middle" }, "collecting samples…") : null,
    area ? svg("polygon", { points: area, class: "area" }) : null,
    line ? svg("polyline", { points: line, class: "line" }) : null);
}

pages.dashboard = async (main) => {
  const cards = el("div", { class: "stats-grid" });
  const chart = el("div", { class: "chart-wrap" });
  const classes = el("div", { class: "classes" });
  const locs = el("div");
  main.append(el("h1", {}, "Dashboard"), cards,
    section("Requests per second", chart),
    section("Responses by status class", classes),
    section("Locations", locs));
  let last = null;
  every(2000, async () => {
    const { data: s } = await api("GET", "api/stats");
    const now = performance.now();
    const total = s.accepted;
    if (last) {
      const rate = Math.max(0, (total - last.total) / ((now - last.at) / 1000));
      rateHistory.push({ rate });
      while (rateHistory.length > 60) rateHistory.shift();
    }
    last = { total, at: now };
    const current = rateHistory.length ? rateHistory[rateHistory.length - 1].rate : null;
    const sum = { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
    const rows = [];
    for (const [server, sv] of Object.entries(s.servers || {})) {
      for (const l of sv.locations || []) {
        const n = CLASSES.reduce((a, c) => a + (l.requests[c] || 0), 0) + (l.requests["1xx"] || 0);
        for (const c of CLASSES) sum[c] += l.requests[c] || 0;
        rows.push(el("tr", {},
          el("td", {}, server),
          el("td", {}, l.location || el("span", { class: "muted" }, "(no location)")),
          el("td", { class: "num" }, fmtNumber(n)),
          CLASSES.map((c) => el("td", { class: `num cls-${c}` }, fmtNumber(l.requests[c] || 0))),
          el("td", { class: "num" }, fmtSeconds(quantile(l.duration, 0.5))),
          el("td", { class: "num" }, fmtSeconds(quantile(l.duration, 0.99)))));
      }
    }
    const upstreams = Object.values(s.upstreams || {});
    const peers = upstreams.flatMap((u) => u.peers || []);
    const down = peers.filter((p) => !p.healthy).length;
    fill(cards,
      statCard("Requests/s", current === null ? "…" : fmtNumber(current, 1)),
      statCard("Requests", fmtNumber(total)),
      statCard("In flight", fmtNumber(s.processing)),
      statCard("Peers healthy", `${peers.length - down} / ${peers.length}`, down ? "warn" : ""),
      statCard("Uptime", fmtDuration(s.uptime_seconds || 0)),
      statCard("Pylon", s.version || "–"));
    fill(chart, rateChart(rateHistory, chart.clientWidth));
    const all = CLASSES.reduce((a, c) => a + sum[c], 0);
    fill(classes, CLASSES.map((c) => el("div", { class: "class-row" },
      el("span", { class: `class-label cls-${c}` }, c),
      el("span", { class: "bar" }, barFill(c, all ? sum[c] / all : 0)),
      el("span", { class: "num" }, fmtNumber(sum[c])))));
    fill(locs, rows.length
      ? table(["Server", "Location", "Requests", ...CLASSES, "p50", "p99"], rows, { id: "locations-table" })
      : el("p", { class: "muted" }, "No per-location series yet."));
  });
};

function statCard(label, value, kind = "") {
  return el("div", { class: `stat ${kind}` }, el("div", { class: "stat-label" }, label), el("div", { class: "stat-value" }, value));
}

function barFill(cls, share) {
  const f = el("span", { class: `bar-fill bg-${cls}` });
  f.style.width = `${(share * 100).toFixed(1)}%`;
  return f;
}

// ---------------------------------------------------------------------------------------
// Servers → locations → upstreams

function pathText(p) {
  if (!p || p === "any") return "(any)";
  if (p.prefix !== undefined) return p.prefix === "" ? "(any)" : p.prefix;
  if (p.exact !== undefined) return `=${p.exact}`;
  if (p.regex !== undefined) return `~${p.regex}`;
  return JSON.stringify(p);
}

function hostText(h) {
  if (!h || !h.length) return "(any)";
  return h.map((x) => {
    if (typeof x === "string") return x;
    if (x.regex !== undefined) return `~${x.regex}`;
    if (x.wildcard !== undefined) return `*${x.wildcard}`;
    return x.exact !== undefined ? x.exact : JSON.stringify(x);
  }).join(", ");
}

pages.servers = async (main) => {
  const { data: cfg } = await api("GET", "api/config");
  const model = cfg.model;
  const body = el("div");
  main.append(el("h1", {}, "Servers"), body);
  const byLoc = Object.fromEntries(model.locations.map((l) => [l.name, l]));
  every(2000, async () => {
    const { data: ups } = await api("GET", "api/upstreams");
    const byUp = Object.fromEntries(ups.map((u) => [u.name, u]));
    const peerList = (u) => el("ul", { class: "peers" }, (u.peers || []).map((p) =>
      el("li", { class: p.healthy ? "peer up" : "peer down", dataset: { peer: p.addr } },
        healthDot(p.healthy), el("span", { class: "mono" }, p.addr),
        el("span", { class: "muted" }, ` weight ${p.weight}`),
        p.healthy ? null : el("div", { class: "peer-error", title: p.last_error || null },
          p.last_error ? shortError(p.last_error) : "unhealthy"))));
    const servers = model.servers.map((s) => section(`Server ${s.name}`,
      el("p", { class: "meta" },
        el("span", { class: "mono" }, (s.addr || []).join(", ")),
        s.tls ? el("span", { class: "tag" }, "TLS") : null,
        s.enable_h2 ? el("span", { class: "tag" }, "h2") : null,
        s.admin_path ? el("span", { class: "tag" }, `admin at ${s.admin_path}`) : null),
      table(["Location", "Host", "Path", "Serves", "Peers"], s.locations.map((name) => {
        const l = byLoc[name] || {};
        const u = l.upstream ? byUp[l.upstream] : null;
        return el("tr", { dataset: { location: name } },
          el("td", {}, name),
          el("td", { class: "mono" }, hostText(l.host)),
          el("td", { class: "mono" }, pathText(l.path)),
          el("td", {}, l.upstream ? `upstream ${l.upstream}` : l.return ? `return ${l.return.status}` : "–"),
          el("td", {}, u ? peerList(u) : ""));
      }))));
    const upstreams = section("Upstreams", table(["Upstream", "Algorithm", "Health check", "Peers", "Used by"],
      ups.map((u) => el("tr", { dataset: { upstream: u.name } },
        el("td", {}, u.name),
        el("td", {}, u.algo),
        el("td", {}, u.health_check ? `${u.health_check.kind} every ${u.health_check.check_frequency}` : "off"),
        el("td", {}, peerList(u)),
        el("td", {}, (u.locations || []).join(", "))))));
    fill(body, servers, upstreams);
  });
};

// ---------------------------------------------------------------------------------------
// Route explainer

pages.explain = async (main) => {
  const url = el("input", { id: "explain-url", type: "url", placeholder: "http://example.com:6188/api/users?id=1", required: true });
  const headers = el("textarea", { id: "explain-headers", rows: 3, placeholder: "X-Canary: 1\nCookie: …", spellcheck: "false" });
  const out = el("div", { id: "explain-result" });
  const run = async (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ url: url.value });
    for (const line of headers.value.split("\n")) if (line.trim()) q.append("header", line.trim());
    try {
      const r = await api("GET", `api/explain?${q}`, { allow: [400] });
      if (r.status !== 200) {
        fill(out, el("p", { class: "callout callout-error" }, r.data.error));
        return;
      }
      fill(out, explainView(r.data));
    } catch (err) {
      fill(out, el("p", { class: "callout callout-error" }, err.message));
    }
  };
  main.append(el("h1", {}, "Route explainer"),
    el("form", { class: "card form", onsubmit: run },
      el("label", { for: "explain-url" }, "URL"), url,
      el("label", { for: "explain-headers" }, "Request headers (one per line, Name: value)"), headers,
      el("div", { class: "actions" }, el("button", { id: "explain-run", class: "btn btn-primary", type: "submit" }, "Explain"))),
    out);
  url.focus();
};

function explainView(e) {
  const row = (k, v) => [el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "–" : String(v))];
  return el("div", {},
    section("Decision",
      el("p", { class: "result", id: "explain-summary" }, e.result || ""),
      el("dl", { class: "kv" },
        row("Listener", e.listener), row("Server", e.server), row("Host", e.host),
        row("Path (normalised)", e.path), row("Location", e.location), row("Upstream", e.upstream),
        row("Upstream path", e.upstream_path), row("Certificate", e.certificate), row("Plugins", e.plugins))),
    e.candidates && e.candidates.length ? section("Candidates, by weight",
      table(["Location", "Weight", "Verdict", "Why"], e.candidates.map((c) =>
        el("tr", { class: c.winner ? "winner" : "", dataset: { candidate: c.name } },
          el("td", {}, c.winner ? "✓ " : "", c.name),
          el("td", { class: "num" }, c.weight),
          el("td", {}, c.verdict),
          el("td", {}, c.detail))), { id: "candidates" })) : null,
    e.peers && e.peers.length ? section("Peers",
      table(["Peer", "Weight", "Health", "Chosen"], e.peers.map((p) => el("tr", {},
        el("td", { class: "mono" }, p.addr), el("td", { class: "num" }, p.weight),
        el("td", {}, healthDot(p.healthy), p.healthy ? " healthy" : " unhealthy"),
        el("td", {}, p.chosen ? "chosen" : ""))))) : null);
}

// ---------------------------------------------------------------------------------------
// Plan view (config editor and rollback)

function diagList(list, kind, onPick) {
  return el("ul", { class: `diags diags-${kind}` }, list.map((d) => el("li", {},
    el("button", { class: "link", type: "button", onclick: () => onPick && onPick(d) },
      `line ${d.line}, column ${d.column}`),
    el("span", { class: "mono key" }, ` ${d.key}`), ": ", d.message)));
}

function textDiff(diff) {
  const lines = diff.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return el("pre", { class: "diff", id: "text-diff" }, lines.map((l) => {
    const cls = l.startsWith("+++") || l.startsWith("---") ? "d-file"
      : l.startsWith("@@") ? "d-hunk" : l.startsWith("+") ? "d-add" : l.startsWith("-") ? "d-del" : "d-ctx";
    return el("span", { class: `d-line ${cls}` }, l, "\n");
  }));
}

function changeList(changes) {
  if (!changes.length) return el("p", { class: "muted" }, "No table added, removed or changed.");
  const sign = { added: "+", removed: "−", changed: "~" };
  return el("ul", { class: "changes", id: "semantic-diff" }, changes.map((c) => el("li", { class: `chg chg-${c.kind}` },
    el("span", { class: "chg-sign" }, sign[c.kind] || "?"),
    el("span", { class: "mono" }, c.name ? `[${c.section}.${c.name}]` : `[${c.section}]`),
    ` ${c.kind}`,
    c.keys && c.keys.length ? el("span", { class: "muted" }, ": ", c.keys.join(", ")) : null)));
}

function target(t) {
  if (!t.location) return "404 (no location)";
  return t.upstream ? `${t.location} → upstream ${t.upstream}` : `${t.location} (return)`;
}

function impactView(impact) {
  if (!impact) return el("p", { class: "muted" }, "No impact preview (no running proxy to ask).");
  const head = el("p", { id: "impact-summary" },
    impact.sampled ? `Of the last ${fmtNumber(impact.sampled)} requests, ${fmtNumber(impact.changed)} would be served differently.`
      : "No requests recorded yet: nothing to replay.");
  if (!impact.examples.length) return head;
  return el("div", {}, head, table(["Requests", "Server", "Host", "Path", "Now", "After"],
    impact.examples.map((x) => el("tr", {},
      el("td", { class: "num" }, x.count), el("td", {}, x.server), el("td", { class: "mono" }, x.host),
      el("td", { class: "mono" }, x.path), el("td", {}, target(x.before)), el("td", {}, target(x.after)))),
    { id: "impact-table" }));
}

/** The plan, as the operator reads it before applying. */
function planView(plan, onPick) {
  const verdict = plan.valid
    ? el("p", { class: "callout callout-ok", id: "plan-verdict" }, "Valid. ",
      plan.upgrade ? "Listeners change: applying starts a successor process that takes the sockets over (graceful upgrade)."
        : "Applying swaps it in place (hot reload): no connection is dropped.")
    : el("p", { class: "callout callout-error", id: "plan-verdict" },
      `Invalid: ${plan.errors.length} error${plan.errors.length === 1 ? "" : "s"}. Nothing can be applied until they are fixed.`);
  return el("div", { class: "plan", id: "plan" },
    verdict,
    plan.errors.length ? section("Errors", diagList(plan.errors, "error", onPick)) : null,
    plan.warnings.length ? section("Lints", diagList(plan.warnings, "warning", onPick)) : null,
    plan.notes.length ? el("ul", { class: "notes" }, plan.notes.map((n) => el("li", {}, n))) : null,
    plan.valid ? section("What changes", changeList(plan.changes)) : null,
    plan.valid ? section("Impact on recent requests", impactView(plan.impact)) : null,
    section("Text diff", plan.text_diff ? textDiff(plan.text_diff) : el("p", { class: "muted" }, "No difference.")));
}

// ---------------------------------------------------------------------------------------
// Config editor

pages.config = async (main) => {
  const { data: cfg } = await api("GET", "api/config");
  let etag = cfg.etag;
  let loaded = cfg.text;
  let planned = null; // the text the shown plan is for, when it is valid
  const gutter = el("div", { class: "gutter", "aria-hidden": "true" });
  const inline = el("div", { class: "inline-layer", "aria-hidden": "true" });
  const editor = el("textarea", { id: "config-editor", class: "editor", spellcheck: "false", wrap: "off",
    autocomplete: "off", "aria-label": "Configuration (TOML)" });
  editor.value = cfg.text;
  const status = el("p", { class: "meta", id: "config-status" });
  const planOut = el("div", { id: "plan-out" });
  const conflict = el("div", { id: "conflict" });
  const planBtn = el("button", { id: "plan-btn", class: "btn", type: "button" }, "Plan");
  const applyBtn = el("button", { id: "apply-btn", class: "btn btn-primary", type: "button", disabled: true }, "Apply");
  const resetBtn = el("button", { id: "reset-btn", class: "btn btn-quiet", type: "button" }, "Discard edits");
  let marks = new Map();

  const renderGutter = () => {
    const n = editor.value.split("\n").length;
    const nodes = [];
    for (let i = 1; i <= n; i++) {
      const m = marks.get(i);
      nodes.push(el("div", { class: m ? `ln ln-${m.kind}` : "ln", title: m ? m.text : null, dataset: { line: i } }, i));
    }
    fill(gutter, nodes);
    gutter.scrollTop = editor.scrollTop;
    renderInline();
  };
  // Each error and lint also sits in the editor, at the right end of its line.
  const renderInline = () => {
    const msgs = [];
    for (const [line, m] of marks) {
      const top = 8 + (line - 1) * 20 - editor.scrollTop;
      if (top < 0 || top > editor.clientHeight - 20) continue;
      const node = el("div", { class: `inline-msg inline-${m.kind}`, dataset: { line } }, `◀ ${m.text}`);
      node.style.top = `${top}px`;
      msgs.push(node);
    }
    fill(inline, msgs);
  };
  const renderStatus = () => {
    const dirty = editor.value !== loaded;
    fill(status,
      cfg.path ? el("span", { class: "mono" }, cfg.path) : "embedded configuration (read-only)",
      " · version ", el("span", { class: "mono", id: "config-etag" }, etag),
      dirty ? el("span", { class: "tag tag-warn", id: "dirty" }, "edited") : el("span", { class: "tag" }, "unchanged"),
      cfg.file_is_running === false ? el("span", { class: "tag tag-warn" }, "file differs from the running config") : null);
    applyBtn.disabled = !(planned !== null && planned === editor.value && dirty && cfg.writable);
  };
  const pick = (d) => {
    const lines = editor.value.split("\n");
    let start = 0;
    for (let i = 0; i < d.line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    const col = Math.max(0, d.column - 1);
    editor.focus();
    editor.setSelectionRange(start + col, start + (lines[d.line - 1] || "").length);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
    editor.scrollTop = Math.max(0, (d.line - 4) * lineHeight);
  };
  const showPlan = (plan) => {
    marks = new Map();
    for (const w of plan.warnings) marks.set(w.line, { kind: "warning", text: `${w.key}: ${w.message}` });
    for (const e of plan.errors) marks.set(e.line, { kind: "error", text: `${e.key}: ${e.message}` });
    renderGutter();
    fill(planOut, planView(plan, pick));
  };

  editor.addEventListener("input", () => {
    if (planned !== null) planned = null;
    renderGutter();
    renderStatus();
  });
  editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; renderInline(); });
  editor.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey) {
      e.preventDefault();
      editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end");
      editor.dispatchEvent(new Event("input"));
    }
  });
  planBtn.addEventListener("click", async () => {
    planBtn.disabled = true;
    fill(conflict);
    try {
      const text = editor.value;
      const { data: plan } = await api("POST", "api/config/plan", { body: text, headers: { "Content-Type": "text/plain" } });
      planned = plan.valid ? text : null;
      showPlan(plan);
      if (plan.valid) planOut.scrollIntoView({ block: "start" });
      else if (plan.errors.length) pick(plan.errors[0]);
    } catch (err) {
      fill(planOut, el("p", { class: "callout callout-error" }, err.message));
    } finally {
      planBtn.disabled = false;
      renderStatus();
    }
  });
  applyBtn.addEventListener("click", async () => {
    applyBtn.disabled = true;
    const text = editor.value;
    try {
      const r = await api("PUT", "api/config", { body: text, headers: { "Content-Type": "text/plain", "If-Match": `"${etag}"` }, allow: [412, 422] });
      if (r.status === 412) {
        fill(conflict, el("div", { class: "callout callout-error", id: "conflict-412", role: "alert" },
          el("strong", {}, "Not applied: someone else changed the configuration. "),
          `The file is now version ${r.data.etag}; you edited version ${etag}. Your edits are still in the editor. `,
          el("button", { class: "btn", type: "button", id: "load-current", onclick: async () => {
            const { data: now } = await api("GET", "api/config");
            Object.assign(cfg, now);
            etag = now.etag;
            loaded = now.text;
            editor.value = now.text;
            planned = null;
            marks = new Map();
            fill(conflict);
            fill(planOut);
            renderGutter();
            renderStatus();
            toast("Loaded the current file: redo your change on it.");
          } }, "Load the current file (drops my edits)")));
        return;
      }
      if (r.status === 422) {
        showPlan({ valid: false, errors: r.data.errors, warnings: r.data.warnings || [], notes: [], changes: [], text_diff: "", impact: null });
        return;
      }
      etag = r.data.etag;
      loaded = text;
      cfg.file_is_running = true;
      planned = null;
      fill(planOut, el("p", { class: "callout callout-ok", id: "applied" },
        r.data.unchanged ? "Nothing to apply: the file already has this text."
          : `Applied: now version ${r.data.etag}${r.data.upgrade ? " (a successor process takes the listeners over)" : ""}. The previous version is in the history.`));
      toast("Configuration applied.", "ok");
      refreshVersion();
    } catch (err) {
      fill(planOut, el("p", { class: "callout callout-error" }, err.message));
    } finally {
      renderStatus();
    }
  });
  resetBtn.addEventListener("click", () => {
    editor.value = loaded;
    planned = null;
    marks = new Map();
    fill(planOut);
    renderGutter();
    renderStatus();
  });
  leaveGuard = () => editor.value === loaded || confirm("Leave the editor and drop your edits?");

  main.append(el("h1", {}, "Configuration"), status,
    el("div", { class: "editor-wrap" }, gutter, editor, inline),
    el("div", { class: "actions" }, planBtn, applyBtn, resetBtn,
      el("span", { class: "muted" }, "Plan shows errors, lints, the diff and the impact; Apply needs a valid plan of exactly this text.")),
    conflict, planOut);
  if (!cfg.writable) editor.readOnly = true;
  renderGutter();
  renderStatus();
};

// ---------------------------------------------------------------------------------------
// History and rollback

pages.history = async (main, flash) => {
  const [{ data: hist }, { data: cfg }] = await Promise.all([api("GET", "api/config/history"), api("GET", "api/config")]);
  let etag = cfg.etag;
  const detail = el("div", { id: "history-detail" });
  const rows = hist.versions.map((v) => el("tr", { dataset: { version: v.version } },
    el("td", {}, fmtTime(v.replaced_at_ms)),
    el("td", { class: "mono" }, v.version),
    el("td", {}, v.replaced_by),
    el("td", {}, v.action),
    el("td", { class: "mono" }, v.replaced_with),
    el("td", { class: "num" }, `${fmtNumber(v.size)} B`),
    el("td", {},
      el("button", { class: "btn btn-small", type: "button", onclick: () => view(v) }, "View"), " ",
      el("button", { class: "btn btn-small", type: "button", dataset: { rollback: v.version }, onclick: () => planRollback(v) }, "Plan rollback"))));
  const view = async (v) => {
    const { data: text } = await api("GET", `api/config/history/${encodeURIComponent(v.version)}`);
    fill(detail, section(`Version ${v.version}`, el("pre", { class: "code" }, text)));
  };
  const planRollback = async (v) => {
    const { data: text } = await api("GET", `api/config/history/${encodeURIComponent(v.version)}`);
    const { data: plan } = await api("POST", "api/config/plan", { body: text, headers: { "Content-Type": "text/plain" } });
    const result = el("div", { id: "rollback-result" });
    const go = el("button", { class: "btn btn-primary", type: "button", id: "rollback-btn", disabled: !plan.valid, onclick: async () => {
      go.disabled = true;
      const r = await api("POST", `api/config/rollback/${encodeURIComponent(v.version)}`, { headers: { "If-Match": `"${etag}"` }, allow: [412, 422] });
      if (r.status === 412) {
        fill(result, el("p", { class: "callout callout-error" }, `Not rolled back: the configuration changed meanwhile (now ${r.data.etag}). Plan the rollback again.`));
        etag = r.data.etag;
      } else if (r.status === 422) {
        fill(result, el("p", { class: "callout callout-error" }, "Not rolled back: that version is no longer valid."), diagList(r.data.errors, "error"));
      } else {
        // The list has a new entry (the version just replaced): show it, with the outcome.
        toast("Rolled back.", "ok");
        refreshVersion();
        main.replaceChildren();
        await pages.history(main, `Rolled back to ${v.version}: now running version ${r.data.etag}. The version it replaced is kept below.`);
        window.scrollTo(0, 0);
      }
    } }, `Roll back to ${v.version}`);
    fill(detail, section(`Rollback to ${v.version}`, planView(plan), el("div", { class: "actions" }, go), result));
    detail.scrollIntoView({ behavior: "smooth", block: "start" });
  };
  main.append(el("h1", {}, "History"),
    flash ? el("p", { class: "callout callout-ok", id: "rolled-back", role: "status" }, flash) : null,
    el("p", { class: "meta" }, "Running version ", el("span", { class: "mono" }, hist.running_version),
      ". Every apply and rollback keeps the version it replaced; a rollback is planned and validated like any change."),
    rows.length ? section("Kept versions", table(["Replaced", "Version", "By", "How", "Replaced with", "Size", ""], rows, { id: "history-table" }))
      : el("p", { class: "callout" }, "No kept versions yet: the history starts with the first apply."),
    detail);
};

boot();
