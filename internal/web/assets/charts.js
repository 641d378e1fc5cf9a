// Attune console charts: request rate, p99 latency and event rate drawn as
// plain SVG from samples of the server's Prometheus counters. Loaded before
// app.js, which calls refreshCharts on each refresh; nothing here runs at
// load, so the arithmetic can be tested outside a browser (charts_test.go).
"use strict";

// Charts: samples of the server's counters (GET api/metrics, root sessions
// only), drawn as rates and p99 latency over consecutive samples, the way
// Prometheus's rate() and histogram_quantile() read the same counters.
const CHART_SAMPLES = 61; // 5 minutes at REFRESH_MS
let samples = [];

// quantile estimates the q-quantile of the requests between two samples
// from their cumulative bucket counts, interpolating linearly within a
// bucket; null when no request was answered in between.
function quantile(q, prev, cur) {
  const n = cur.cumulative.length;
  if (prev.cumulative.length !== n) return null;
  const delta = cur.cumulative.map((c, i) => c - prev.cumulative[i]);
  const total = delta[n - 1];
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < n - 1; i++) {
    if (delta[i] >= rank) {
      const lo = i === 0 ? 0 : cur.bounds[i - 1];
      const below = i === 0 ? 0 : delta[i - 1];
      const inBucket = delta[i] - below;
      return lo + (cur.bounds[i] - lo) * (inBucket > 0 ? (rank - below) / inBucket : 1);
    }
  }
  return cur.bounds[cur.bounds.length - 1]; // above the last bound: report the bound
}

function series() {
  const rate = [], p99 = [], events = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    const dt = (b.time - a.time) / 1000;
    if (dt <= 0 || b.requests < a.requests) continue; // a restart resets the counters
    rate.push([b.time, (b.requests - a.requests) / dt]);
    events.push([b.time, (b.events - a.events) / dt]);
    const q = quantile(0.99, a, b);
    if (q !== null) p99.push([b.time, q * 1000]);
  }
  return { rate, p99, events };
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtNum(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

// drawChart plots points ([time, value]) as a line over the chart's time
// window, with the y axis from 0 to the largest value.
function drawChart(svg, points) {
  const W = 300, H = 110, L = 34, B = 14, T = 6;
  svg.replaceChildren();
  const end = samples.length ? samples[samples.length - 1].time : 0;
  const start = end - (CHART_SAMPLES - 1) * REFRESH_MS;
  const max = Math.max(...points.map((p) => p[1]), 0) || 1;
  const x = (t) => L + (W - L - 4) * Math.max(0, (t - start) / (end - start || 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  svg.append(svgEl("line", { x1: L, y1: y(0), x2: W - 4, y2: y(0), stroke: "#c4cad3" }));
  svg.append(svgEl("text", { x: L - 3, y: y(max) + 8, "text-anchor": "end", "font-size": 9, fill: "#6b7280" }, fmtNum(max)));
  svg.append(svgEl("text", { x: L - 3, y: y(0), "text-anchor": "end", "font-size": 9, fill: "#6b7280" }, "0"));
  if (!points.length) {
    svg.append(svgEl("text", { x: (W + L) / 2, y: H / 2, "text-anchor": "middle", "font-size": 10, fill: "#6b7280" }, "waiting for data"));
    return;
  }
  const d = points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
  svg.append(svgEl("path", { d, fill: "none", stroke: "#2563eb", "stroke-width": 1.5, class: "series" }));
  const last = points[points.length - 1][1];
  svg.append(svgEl("text", { x: W - 6, y: H - 2, "text-anchor": "end", "font-size": 9, fill: "#1d2330", class: "last" }, "now " + fmtNum(last)));
}

async function refreshCharts() {
  if ($("charts").hidden) return;
  try {
    samples.push(await api("GET", "metrics"));
  } catch (e) {
    if (e.status === 403 || e.status === 404) { $("charts").hidden = true; return; }
    throw e;
  }
  if (samples.length > CHART_SAMPLES) samples = samples.slice(-CHART_SAMPLES);
  const s = series();
  drawChart($("chart-rate"), s.rate);
  drawChart($("chart-p99"), s.p99);
  drawChart($("chart-events"), s.events);
}
