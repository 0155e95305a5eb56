// rasterflow monitor dashboard: polls /api/stages every second, draws the
// pipeline graph (SVG, laid out by topological level), charts (canvas) and
// the stage table. No external resources.
"use strict";

const WINDOW_MS = 5 * 60 * 1000;
const POLL_MS = 1000;
const PALETTE = ["#38bdf8", "#a78bfa", "#34d399", "#fbbf24", "#f472b6", "#60a5fa", "#fb923c", "#2dd4bf", "#e879f9", "#a3e635", "#f87171", "#94a3b8"];
const STATE_COLOR = { "busy": "#f43f5e", "back-pressured": "#f59e0b", "ok": "#10b981", "idle": "#475569", "stale": "#475569" };

const app = {
  graphs: [],          // [{pipeline, stages:[{id, op, in, out, replicas, device, level}]}]
  history: new Map(),  // "pipeline/stage" -> [{t, chunks, pixels, bytes, busy, blocked, inflight, errors}]
  colors: new Map(),   // "pipeline/stage" -> colour
  view: null,
  polls: 0,
  graphKey: "",
};

const $ = (sel) => document.querySelector(sel);
const keyOf = (r) => r.pipeline + "/" + r.stage;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

function colorOf(key) {
  if (!app.colors.has(key)) app.colors.set(key, PALETTE[app.colors.size % PALETTE.length]);
  return app.colors.get(key);
}

// ---- number formatting ----
function fmtNum(v, digits) {
  if (!isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(digits === undefined ? 1 : digits);
}
function fmtRate(v) { return v === 0 ? "0" : v < 0.1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : fmtNum(v); }
function fmtPct(f) { return (100 * f).toFixed(0) + "%"; }
function fmtDur(s) {
  if (!s || s <= 0) return "–";
  if (s >= 1) return s.toFixed(2) + "s";
  if (s >= 1e-3) return (s * 1e3).toFixed(s >= 0.1 ? 0 : 1) + "ms";
  return (s * 1e6).toFixed(0) + "µs";
}
const throughput = (r) => Math.max(r.pixels_in_per_s, r.pixels_out_per_s);
const chunkRate = (r) => Math.max(r.chunks_in_per_s, r.chunks_out_per_s);
const byteRate = (r) => Math.max(r.bytes_in_per_s, r.bytes_out_per_s);
const stateOf = (r) => (r.stale ? "stale" : r.state);

// ---- data ----
async function getJSON(path) {
  const res = await fetch(path, { cache: "no-store" });
  if (!res.ok) throw new Error(path + ": " + res.status);
  return res.json();
}

async function loadGraph() {
  try {
    app.graphs = await getJSON("api/graph");
    app.graphKey = "";
  } catch (e) { /* keep the old graph; the status pill shows the outage */ }
}

async function loadHistory() {
  try {
    const series = await getJSON("api/history");
    for (const s of series) app.history.set(s.pipeline + "/" + s.stage, s.points || []);
  } catch (e) { /* charts start empty */ }
}

function record(view) {
  const t = Date.parse(view.at);
  for (const r of view.stages || []) {
    const k = keyOf(r);
    let pts = app.history.get(k);
    if (!pts) { pts = []; app.history.set(k, pts); }
    if (pts.length && pts[pts.length - 1].t >= t) continue;
    pts.push({ t, chunks: chunkRate(r), pixels: throughput(r), bytes: byteRate(r), busy: r.busy, blocked: r.blocked, inflight: r.inflight, errors: r.errors });
    while (pts.length && pts[0].t < t - WINDOW_MS) pts.shift();
  }
}

function graphCovers(view) {
  const known = new Set();
  for (const g of app.graphs) for (const s of g.stages || []) known.add(g.pipeline + "/" + s.id);
  return (view.stages || []).every((r) => known.has(keyOf(r)));
}

async function poll() {
  try {
    const view = await getJSON("api/stages");
    app.view = view;
    app.polls++;
    if (!graphCovers(view)) await loadGraph();
    record(view);
    render(view);
    setStatus("live", "live · " + new Date(view.at).toLocaleTimeString());
  } catch (e) {
    setStatus("down", "disconnected");
  }
  document.body.dataset.polls = app.polls;
}

function setStatus(cls, text) {
  $("#status").className = "status " + cls;
  $("#status-text").textContent = text;
}

// ---- rendering ----
function render(view) {
  const stages = view.stages || [];
  const byKey = new Map(stages.map((r) => [keyOf(r), r]));
  stages.forEach((r) => colorOf(keyOf(r)));

  $("#pipelines").innerHTML = [...new Set(stages.map((r) => r.pipeline))].map((p) => `<span class="pill">${esc(p)}</span>`).join("");
  const sinks = stages.filter((r) => r.pixels_out_per_s === 0 && r.pixels_in_per_s > 0);
  const total = (sinks.length ? sinks : stages).reduce((a, r) => a + throughput(r), 0);
  $("#kpi-pixels").textContent = fmtRate(total / 1e6) + " Mpx/s";
  $("#kpi-inflight").textContent = fmtNum(stages.reduce((a, r) => a + r.inflight, 0), 0);
  const errors = stages.reduce((a, r) => a + r.errors, 0);
  $("#kpi-errors").textContent = fmtNum(errors, 0);
  $("#kpi-errors").style.color = errors > 0 ? "var(--busy)" : "";
  $("#kpi-workers").textContent = new Set((view.workers || []).map((w) => w.worker)).size || "–";
  $("#interval").textContent = (view.interval_s || 1) + " s";

  renderGraph(byKey);
  renderTable(stages);
  renderWorkers(view.workers || []);
  renderGauges(view.gauges || []);
  renderCharts(stages);
}

function renderGraph(byKey) {
  const W = 220, H = 100, GX = 70, GY = 22, PAD = 16, TITLE = 22;
  let y0 = PAD, width = 0, parts = [];
  for (const g of app.graphs) {
    const nodes = g.stages || [];
    const cols = new Map();
    for (const n of nodes) {
      if (!cols.has(n.level)) cols.set(n.level, []);
      cols.get(n.level).push(n);
    }
    const rows = Math.max(1, ...[...cols.values()].map((c) => c.length));
    const heightPx = rows * H + (rows - 1) * GY;
    const pos = new Map();
    for (const [lv, col] of cols) {
      const colH = col.length * H + (col.length - 1) * GY;
      col.forEach((n, i) => pos.set(n.id, { x: PAD + lv * (W + GX), y: y0 + TITLE + (heightPx - colH) / 2 + i * (H + GY) }));
    }
    if (app.graphs.length > 1 || !byKey.size) parts.push(`<text class="pipeline-title" x="${PAD}" y="${y0 + 12}">${esc(g.pipeline)}</text>`);
    // Edges first, under the boxes.
    for (const n of nodes) {
      const b = pos.get(n.id);
      const r = byKey.get(g.pipeline + "/" + n.id);
      for (const up of n.in || []) {
        const a = pos.get(up);
        if (!a) continue;
        const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x - 4, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
        parts.push(`<path class="edge" marker-end="url(#arrow)" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`);
        if (r && (n.in || []).indexOf(up) === 0) {
          parts.push(`<text class="edge-label" x="${mx}" y="${(y1 + y2) / 2 - 6}" text-anchor="middle">${fmtNum(r.inflight, 0)} queued</text>`);
        }
      }
    }
    for (const n of nodes) {
      const p = pos.get(n.id);
      const r = byKey.get(g.pipeline + "/" + n.id);
      const st = r ? stateOf(r) : "idle";
      const c = STATE_COLOR[st] || STATE_COLOR.idle;
      const busy = r ? r.busy : 0, blocked = r ? r.blocked : 0;
      const bw = W - 28;
      const desc = esc(n.op) + (n.replicas > 1 ? " ×" + n.replicas : "") + (n.device ? " @" + esc(n.device) : "");
      const rate = r ? `${fmtRate(throughput(r) / 1e6)} Mpx/s · ${fmtNum(chunkRate(r))} ch/s` : "no data";
      // Tint the box by its state, stronger the more busy or blocked.
      const strength = st === "busy" ? busy : st === "back-pressured" ? blocked : st === "ok" ? 0.35 : 0.15;
      parts.push(`<g class="node" data-stage="${esc(n.id)}" data-state="${st}" transform="translate(${p.x},${p.y})">` +
        `<rect class="box" width="${W}" height="${H}" rx="9" stroke="${c}"/>` +
        `<rect width="${W}" height="${H}" rx="9" fill="${c}" fill-opacity="${(0.06 + 0.22 * strength).toFixed(3)}"/>` +
        `<rect width="5" height="${H - 18}" y="9" rx="2.5" fill="${c}"/>` +
        `<text class="id" x="16" y="22">${esc(n.id)}</text>` +
        `<text class="op" x="16" y="38">${desc}</text>` +
        `<text class="rate" x="16" y="59">${rate}</text>` +
        `<rect x="16" y="68" width="${bw}" height="7" rx="3.5" fill="#243250"/>` +
        `<rect x="16" y="68" width="${(bw * busy).toFixed(1)}" height="7" fill="${STATE_COLOR.busy}"/>` +
        `<rect x="${(16 + bw * busy).toFixed(1)}" y="68" width="${(bw * blocked).toFixed(1)}" height="7" fill="${STATE_COLOR["back-pressured"]}"/>` +
        `<text class="pct" x="16" y="90">busy ${fmtPct(busy)} · blocked ${fmtPct(blocked)}</text>` +
        `<text class="pct" x="${W - 12}" y="22" text-anchor="end">${st}</text>` +
        `</g>`);
      width = Math.max(width, p.x + W + PAD);
    }
    y0 += TITLE + heightPx + 2 * PAD;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y0 - PAD}" role="img" aria-label="pipeline graph">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
    `<path d="M0,0 L10,5 L0,10 z" fill="#6b7fa8"/></marker></defs>${parts.join("")}</svg>`;
  $("#graph").innerHTML = svg;
}

function renderTable(stages) {
  $("#empty").style.display = stages.length ? "none" : "";
  const tbody = $("#stages tbody");
  // Rows are kept (keyed by stage) so the sparkline canvases persist.
  const rows = new Map([...tbody.rows].map((tr) => [tr.dataset.key, tr]));
  stages.forEach((r, i) => {
    const k = keyOf(r);
    let tr = rows.get(k);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.key = k;
      tr.innerHTML = `<td class="l stage"><i></i><span></span></td><td class="l op"></td><td class="replicas"></td>` +
        `<td class="chunks"></td><td class="pixels"></td><td class="mb"></td>` +
        `<td class="l"><div class="util"><div class="bar"><div class="b"></div><div class="p"></div></div><span class="txt"></span></div></td>` +
        `<td class="inflight"></td><td class="p50"></td><td class="p99"></td><td class="err"></td><td class="redeliv"></td>` +
        `<td class="l"><canvas class="spark"></canvas></td><td class="l"><span class="badge"></span></td>`;
    }
    if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
    rows.delete(k);
    const st = stateOf(r);
    tr.dataset.stage = r.stage;
    tr.dataset.state = st;
    const cell = (cls) => tr.querySelector("." + cls);
    tr.querySelector(".stage i").style.background = colorOf(k);
    tr.querySelector(".stage span").textContent = r.stage;
    cell("op").textContent = r.op;
    cell("replicas").textContent = r.replicas;
    cell("replicas").title = r.workers + (r.workers === 1 ? " worker" : " workers");
    cell("chunks").textContent = fmtRate(chunkRate(r));
    cell("pixels").textContent = fmtRate(throughput(r) / 1e6);
    cell("mb").textContent = fmtRate(byteRate(r) / 1e6);
    tr.querySelector(".bar .b").style.width = fmtPct(r.busy);
    tr.querySelector(".bar .p").style.width = fmtPct(r.blocked);
    tr.querySelector(".util .txt").textContent = `${fmtPct(r.busy)} · ${fmtPct(r.blocked)} · ${fmtPct(r.idle)}`;
    cell("inflight").textContent = fmtNum(r.inflight, 0);
    cell("p50").textContent = fmtDur(r.p50_s);
    cell("p99").textContent = fmtDur(r.p99_s);
    cell("err").textContent = fmtNum(r.errors, 0);
    cell("err").classList.toggle("nonzero", r.errors > 0);
    cell("redeliv").textContent = fmtNum(r.redeliveries, 0);
    const badge = tr.querySelector(".badge");
    badge.className = "badge st-" + st;
    badge.textContent = st;
    drawSpark(tr.querySelector("canvas.spark"), app.history.get(k) || [], colorOf(k));
  });
  for (const tr of rows.values()) tr.remove();
}

function renderWorkers(workers) {
  const many = new Set(workers.map((w) => w.worker)).size > 1;
  $("#workers-card").classList.toggle("hidden", !many);
  if (!many) return;
  $("#workers tbody").innerHTML = workers.map((w) => {
    const st = stateOf(w);
    return `<tr data-worker="${esc(w.worker)}" data-stage="${esc(w.stage)}" data-state="${st}"><td class="l">${esc(w.worker)}</td>` +
      `<td class="l">${esc(w.stage)}</td><td>${w.replicas}</td><td>${fmtRate(chunkRate(w))}</td>` +
      `<td>${fmtRate(throughput(w) / 1e6)}</td><td>${fmtPct(w.busy)}</td><td>${fmtPct(w.blocked)}</td>` +
      `<td>${fmtNum(w.inflight, 0)}</td><td>${fmtNum(w.errors, 0)}</td><td class="l"><span class="badge st-${st}">${st}</span></td></tr>`;
  }).join("");
}

function renderGauges(gauges) {
  $("#gauges-card").classList.toggle("hidden", gauges.length === 0);
  $("#gauges tbody").innerHTML = gauges.map((g) => {
    const labels = Object.entries(g.labels || {}).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(" ");
    return `<tr><td class="l">${esc(g.name)}</td><td class="l">${labels}</td><td>${fmtNum(g.value, 2)}</td></tr>`;
  }).join("");
}

// ---- charts ----
function setupCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300, h = canvas.clientHeight || 150;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function drawChart(canvas, series, valueOf, fmt, minMax) {
  const { ctx, w, h } = setupCanvas(canvas);
  const L = 46, R = 8, T = 8, B = 20;
  const now = app.view ? Date.parse(app.view.at) : Date.now();
  let t0 = now;
  let vmax = 0, npts = 0;
  for (const s of series) for (const p of s.points) { t0 = Math.min(t0, p.t); vmax = Math.max(vmax, valueOf(p)); npts++; }
  t0 = Math.max(t0, now - WINDOW_MS);
  const span = Math.max(now - t0, 30000);
  t0 = now - span;
  const ymax = niceMax(Math.max(vmax, minMax || 0));
  const X = (t) => L + ((t - t0) / span) * (w - L - R);
  const Y = (v) => T + (1 - v / ymax) * (h - T - B);

  ctx.font = "11px ui-monospace, DejaVu Sans Mono, monospace";
  ctx.strokeStyle = "#1f2b45";
  ctx.fillStyle = "#8b9ab5";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4, y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
    ctx.fillText(fmt(v), L - 6, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (span * i) / 4, ago = Math.round((now - t) / 1000);
    ctx.fillText(ago === 0 ? "now" : ago >= 60 ? `-${(ago / 60).toFixed(ago % 60 ? 1 : 0)}m` : `-${ago}s`, Math.min(Math.max(X(t), L + 12), w - R - 14), h - B + 5);
  }
  for (const s of series) {
    const pts = s.points.filter((p) => p.t >= t0);
    if (!pts.length) continue;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.8;
    ctx.lineJoin = "round";
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(X(p.t), Y(valueOf(p))) : ctx.moveTo(X(p.t), Y(valueOf(p)))));
    ctx.stroke();
  }
  canvas.dataset.points = npts;
  canvas.dataset.max = vmax;
}

function drawSpark(canvas, points, color) {
  const { ctx, w, h } = setupCanvas(canvas);
  const pts = points.slice(-120);
  canvas.dataset.points = pts.length;
  if (pts.length < 2) return;
  const vmax = Math.max(...pts.map((p) => p.pixels || p.chunks)) || 1;
  const t0 = pts[0].t, span = Math.max(pts[pts.length - 1].t - t0, 1);
  const X = (t) => 1 + ((t - t0) / span) * (w - 2);
  const Y = (p) => h - 2 - ((p.pixels || p.chunks) / vmax) * (h - 4);
  ctx.beginPath();
  pts.forEach((p, i) => (i ? ctx.lineTo(X(p.t), Y(p)) : ctx.moveTo(X(p.t), Y(p))));
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.lineTo(X(pts[pts.length - 1].t), h);
  ctx.lineTo(X(t0), h);
  ctx.closePath();
  ctx.globalAlpha = 0.18;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
}

function renderCharts(stages) {
  const series = stages.map((r) => ({ key: keyOf(r), name: r.stage, color: colorOf(keyOf(r)), points: app.history.get(keyOf(r)) || [] }));
  drawChart($("#chart-throughput"), series, (p) => p.pixels / 1e6, (v) => fmtRate(v), 0.1);
  drawChart($("#chart-backlog"), series, (p) => p.inflight, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)), 4);
  drawChart($("#chart-blocked"), series, (p) => 100 * p.blocked, (v) => v.toFixed(0) + "%", 100);
  $("#chart-legend").innerHTML = series.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join("");
}

async function start() {
  await Promise.all([loadGraph(), loadHistory()]);
  await poll();
  setInterval(poll, POLL_MS);
  window.addEventListener("resize", () => app.view && render(app.view));
}

start();
