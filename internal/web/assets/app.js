// Attune console: signs in, shows the overview as tables and, for the root
// key, request-rate, p99-latency and event-rate charts (refreshed every few
// seconds), a "try it" form against a campaign and, for the root key,
// the access keys.
"use strict";

const REFRESH_MS = 5000;
let timer = null;

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch("api/" + path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = new Error((data && data.error) || res.status + " " + res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

// el builds an element; children are nodes or strings (always text, never HTML).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function statusCell(s) {
  return el("td", { class: "status status-" + String(s || "").replace(/ /g, "_") }, s || "");
}

function table(headers, rows, numeric) {
  numeric = numeric || [];
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) =>
      c instanceof Node ? c : el("td", numeric.includes(i) ? { class: "num" } : {}, c))))));
}

function fmtMetrics(m) {
  const keys = Object.keys(m || {}).sort();
  if (!keys.length) return "";
  const short = { normalized_discounted_cumulative_gain_at_10: "NDCG@10", precision_at_10: "P@10",
    mean_reciprocal_rank_at_25: "MRR@25", coverage: "coverage" };
  const shown = keys.filter((k) => short[k]);
  return (shown.length ? shown : keys.slice(0, 4)).map((k) => (short[k] || k) + " " + Number(m[k]).toFixed(4)).join(", ");
}

function renderOverview(ov) {
  const root = $("overview");
  const campaigns = [];
  const parts = [];
  if (!ov.groups.length) parts.push(el("p", { class: "muted" }, "No dataset groups yet."));
  for (const g of ov.groups) {
    const box = el("section", { class: "group" },
      el("h2", {}, "Dataset group ", el("span", { class: "group-name" }, g.name), " ",
        el("span", { class: "muted" }, g.status + (g.domain ? " · " + g.domain : ""))));
    box.append(el("h3", {}, "Datasets"));
    box.append(g.datasets.length ? table(["Dataset", "Type", "Status"],
      g.datasets.map((d) => [d.name, d.type, statusCell(d.status)])) : el("p", { class: "muted" }, "No datasets."));
    const jobs = g.datasets.flatMap((d) => d.importJobs.map((j) => [d, j]));
    box.append(el("h3", {}, "Import jobs"));
    box.append(jobs.length ? table(["Job", "Dataset", "Status", "Rows", "Imported", "Rejected", "Ignored columns", "Failure / first row errors"],
      jobs.map(([d, j]) => [j.name, d.type, statusCell(j.status), j.rows, j.imported, j.rejected, j.ignoredColumns.join(", "),
        el("td", {}, j.failureReason ? el("div", { class: "error" }, j.failureReason) : null,
          j.rowErrors.map((e) => el("div", { class: "muted" }, "row " + e.row + (e.column ? " (" + e.column + ")" : "") + ": " + e.message)))]),
      [3, 4, 5]) : el("p", { class: "muted" }, "No import jobs."));
    box.append(el("h3", {}, "Solutions and versions"));
    const vrows = [];
    for (const s of g.solutions) {
      if (!s.versions.length) vrows.push([s.name, s.recipe, statusCell(s.status), "", "", "", ""]);
      for (const v of s.versions) {
        vrows.push([s.name, s.recipe, statusCell(s.status), el("td", {}, el("code", {}, v.arn.split("/").pop())),
          statusCell(v.status), v.trainingHours.toFixed(4), el("td", {}, fmtMetrics(v.metrics), v.failureReason ? el("div", { class: "error" }, v.failureReason) : null)]);
      }
      for (const c of s.campaigns) campaigns.push([g, s, c]);
    }
    box.append(vrows.length ? table(["Solution", "Recipe", "Status", "Version", "Version status", "Training hours", "Metrics"], vrows, [5])
      : el("p", { class: "muted" }, "No solutions."));
    const gc = campaigns.filter(([cg]) => cg === g);
    box.append(el("h3", {}, "Campaigns"));
    box.append(gc.length ? table(["Campaign", "Solution", "Status", "Version", "Min TPS", "Update"],
      gc.map(([, s, c]) => [el("td", { class: "campaign-name" }, c.name), s.name, statusCell(c.status),
        el("td", {}, el("code", {}, c.solutionVersionArn.split("/").pop())), c.minProvisionedTPS,
        c.latestUpdateStatus ? c.latestUpdateStatus + " → " + c.latestUpdateVersionArn.split("/").pop() : ""]), [4])
      : el("p", { class: "muted" }, "No campaigns."));
    parts.push(box);
  }
  root.replaceChildren(...parts);

  const sel = $("try-campaign");
  const current = sel.value;
  sel.replaceChildren(...campaigns.map(([g, , c]) => el("option", { value: c.arn }, c.name + " (" + g.name + ", " + c.status + ")")));
  if (campaigns.some(([, , c]) => c.arn === current)) sel.value = current;
}

async function refresh() {
  try {
    const ov = await api("GET", "overview");
    renderOverview(ov);
    await refreshCharts();
    $("status").textContent = "Updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e.status === 401) { showLogin(); return; }
    $("status").textContent = "Refresh failed: " + e.message;
  }
}

function showLogin() {
  clearInterval(timer);
  timer = null;
  $("app-view").hidden = true;
  $("charts").hidden = true;
  $("logout").hidden = true;
  $("login-view").hidden = false;
  $("status").textContent = "";
}

// renderKeys lists the access keys (root sessions only) with a delete button each.
async function renderKeys() {
  const data = await api("GET", "keys");
  const rows = data.keys.map((k) => {
    const del = el("button", { type: "button", class: "delete-key" }, "Delete");
    del.addEventListener("click", async () => {
      if (!confirm("Delete access key " + k.name + " (" + k.accessKeyId + ")? Requests signed with it fail from now on.")) return;
      try { await api("DELETE", "keys/" + encodeURIComponent(k.accessKeyId)); await renderKeys(); }
      catch (e) { $("key-error").textContent = e.message; }
    });
    return [el("td", { class: "key-name" }, k.name), el("td", {}, el("code", {}, k.accessKeyId)), new Date(k.created).toLocaleString(),
      k.lastUsed ? new Date(k.lastUsed).toLocaleString() : "never",
      el("td", {}, el("pre", { class: "policy" }, JSON.stringify(k.policy, null, 1))), el("td", {}, del)];
  });
  $("keys-list").replaceChildren(rows.length ? table(["Name", "Access key id", "Created", "Last used", "Policy", ""], rows)
    : el("p", { class: "muted" }, "No access keys besides the root key."));
}

async function showApp() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  try {
    const me = await api("GET", "whoami");
    $("keys").hidden = !me.root;
    $("charts").hidden = !me.root;
    samples = [];
    if (me.root) await renderKeys();
  } catch (e) {
    if (e.status === 401) { showLogin(); return; }
  }
  await refresh();
  if (!timer && !$("app-view").hidden) timer = setInterval(refresh, REFRESH_MS);
}

function renderResult(res) {
  if (!res.items.length) return el("p", { class: "muted" }, "No items.");
  const metaCols = [...new Set(res.items.flatMap((it) => Object.keys(it.metadata || {})))].sort();
  return el("div", {},
    el("p", { class: "muted" }, "Recommendation id ", el("code", {}, res.recommendationId)),
    table(["#", "Item", "Score", "Reasons", "Explanation", ...metaCols],
      res.items.map((it, i) => [i + 1, it.itemId, it.score === undefined ? "" : it.score.toFixed(4),
        (it.reason || []).join(", ") + (it.promotionName ? " (" + it.promotionName + ")" : ""),
        it.explanation ? it.explanation.text : "", ...metaCols.map((c) => (it.metadata || {})[c] || "")]), [0, 2]));
}

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    $("login-error").textContent = "";
    try {
      await api("POST", "login", { accessKeyId: f.get("accessKeyId"), secretAccessKey: f.get("secretAccessKey") });
      ev.target.reset();
      await showApp();
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("POST", "logout"); } finally { showLogin(); }
  });
  $("key-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    $("key-error").textContent = "";
    $("key-created").replaceChildren();
    try {
      const k = await api("POST", "keys", { name: f.get("name"), policy: f.get("policy") });
      $("key-created").replaceChildren(el("p", {}, "Created ", el("strong", {}, k.name), ". Copy the secret now; it is not shown again:"),
        el("pre", { class: "created-key" }, "AWS_ACCESS_KEY_ID=" + k.accessKeyId + "\nAWS_SECRET_ACCESS_KEY=" + k.secretAccessKey));
      await renderKeys();
    } catch (e) {
      if (e.status === 401) { showLogin(); return; }
      $("key-error").textContent = e.message;
    }
  });
  $("try-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    $("try-error").textContent = "";
    const cols = String(f.get("metadataColumns") || "").split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const res = await api("POST", "recommend", { campaignArn: f.get("campaignArn") || "", userId: f.get("userId"),
        itemId: f.get("itemId"), numResults: Number(f.get("numResults")) || 0, metadataColumns: cols });
      $("try-result").replaceChildren(renderResult(res));
    } catch (e) {
      if (e.status === 401) { showLogin(); return; }
      $("try-error").textContent = e.message;
    }
  });

  // A one-time login link (/console/?session=TOKEN) is exchanged for the
  // session cookie, then dropped from the address bar.
  const params = new URLSearchParams(location.search);
  const token = params.get("session");
  if (token) {
    history.replaceState(null, "", location.pathname);
    try {
      await api("POST", "session", { token });
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  }
  await showApp();
});
