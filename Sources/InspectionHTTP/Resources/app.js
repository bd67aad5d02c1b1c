// The supervision office's page (index.html), served as /static/app.js: no inline script, so
// the Content-Security-Policy allows scripts from this server only.
"use strict";
const TILE_URL = "__TILE_URL__";
const TIME_ZONE = "__TIME_ZONE__";
const KINDS = ["unregistered_visit", "unannounced_visit", "repeated_inspection", "multi_agency_inspection",
               "high_frequency", "out_of_jurisdiction", "tracker_silent", "unscanned_visit"];
let token = sessionStorage.getItem("iw-token") || "";
let lastEventId = "";
let selected = null, map = null, layers = null, streamAbort = null;
const $ = (id) => document.getElementById(id);
// "2026-03-04 08:50:48" in the office's time zone.
const local = (t) => t ? new Date(t).toLocaleString("sv-SE", { timeZone: TIME_ZONE }) : "";
const text = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
  return body;
}

function row(a, fresh) {
  const tr = document.createElement("tr");
  tr.className = "alert" + (fresh ? " fresh" : "") + (selected === a.alert_id ? " selected" : "");
  tr.dataset.alertId = a.alert_id;
  tr.innerHTML = `<td>${text(local(a.at))}</td><td class="sev-${text(a.severity)}">${text(a.kind)}</td>` +
    `<td>${text(a.agency_id ?? "—")}</td><td>${text(a.enterprise_id)}</td><td class="status st-${text(a.status)}">${text(a.status)}</td>`;
  tr.onclick = () => show(a.alert_id);
  return tr;
}

async function loadAlerts() {
  const q = new URLSearchParams({ limit: "200" });
  if ($("filter-status").value) q.set("status", $("filter-status").value);
  if ($("filter-kind").value) q.set("kind", $("filter-kind").value);
  const page = await api("/api/v1/alerts?" + q);
  const body = $("alerts");
  body.replaceChildren(...page.alerts.map((a) => row(a, false)));
  shown = page.alerts.length; total = page.total;
  count();
}

let shown = 0, total = 0;
function count() { $("alerts-count").textContent = `${shown} shown of ${total}`; }

function setStatus(id, status) {
  for (const tr of document.querySelectorAll(`tr[data-alert-id="${CSS.escape(id)}"]`)) {
    const td = tr.querySelector(".status");
    td.textContent = status; td.className = "status st-" + status;
  }
}

// Server-Sent Events read through fetch, which (unlike EventSource) can send the token.
async function listen() {
  if (streamAbort) streamAbort.abort();
  streamAbort = new AbortController();
  try {
    // After a reconnect, the server sends what was missed since the last event seen.
    const headers = { "Authorization": "Bearer " + token };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const response = await fetch("/api/v1/events", { headers, signal: streamAbort.signal });
    if (!response.ok) throw new Error(response.statusText);
    $("live").textContent = "(live)";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) lastEventId = line.slice(4);
          else if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (!data) continue;
        const payload = JSON.parse(data);
        if (event === "alert") {
          const wanted = $("filter-status").value, kind = $("filter-kind").value;
          const known = document.querySelector(`tr[data-alert-id="${CSS.escape(payload.alert_id)}"]`);
          if (!known && (!wanted || wanted.split(",").includes(payload.status)) && (!kind || kind === payload.kind)) {
            $("alerts").prepend(row(payload, true));
            shown += 1; total += 1; count();
          }
        } else if (event === "status") {
          setStatus(payload.alert_id, payload.status);
          if (payload.alert_id === selected) show(selected);
        }
      }
    }
  } catch (e) {
    if (e.name === "AbortError") return;
  }
  $("live").textContent = "(reconnecting)";
  setTimeout(listen, 3000);
}

function drawMap(site, visit) {
  if (!window.L) return;
  if (!map) {
    map = L.map("map");
    if (TILE_URL) L.tileLayer(TILE_URL, { maxZoom: 19 }).addTo(map);
  }
  if (layers) layers.remove();
  layers = L.featureGroup().addTo(map);
  if (site && site.outline) {
    if (site.outline.circle) {
      const c = site.outline.circle;
      L.circle([c.lat, c.lon], { radius: c.radius_m, color: "#1d3557" }).addTo(layers);
    } else if (site.outline.rings.length) {
      L.polygon(site.outline.rings, { color: "#1d3557", fillRule: "evenodd" }).bindTooltip(site.name || site.site_id).addTo(layers);
    }
  }
  if (visit && visit.track && visit.track.length) {
    const line = visit.track.map((p) => [p.lat, p.lon]);
    L.polyline(line, { color: "#e63946", weight: 3 }).addTo(layers);
    for (const p of visit.track) L.circleMarker([p.lat, p.lon], { radius: 3, color: "#e63946" }).bindTooltip(local(p.ts)).addTo(layers);
  }
  const bounds = layers.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.3)); else map.setView([0, 0], 1);
}

async function show(id) {
  selected = id;
  for (const tr of document.querySelectorAll("tr.alert")) tr.classList.toggle("selected", tr.dataset.alertId === id);
  $("message").textContent = "";
  try {
    const d = await api("/api/v1/alerts/" + encodeURIComponent(id));
    const a = d.alert;
    $("detail-body").classList.remove("muted");
    $("detail-body").innerHTML =
      `<table><tr><th>alert</th><td id="detail-id">${text(a.alert_id)}</td></tr>` +
      `<tr><th>kind</th><td class="sev-${text(a.severity)}">${text(a.kind)} (${text(a.severity)})</td></tr>` +
      `<tr><th>status</th><td id="detail-status" class="st-${text(a.status)}">${text(a.status)}</td></tr>` +
      `<tr><th>at</th><td>${text(local(a.at))}</td></tr>` +
      `<tr><th>enterprise / site</th><td>${text(a.enterprise_id)} / ${text(a.site_id)} ${text(d.site && d.site.name || "")}</td></tr>` +
      `<tr><th>agency / vehicle</th><td>${text(a.agency_id ?? "—")} / ${text(a.vehicle_id)}</td></tr>` +
      `<tr><th>task</th><td>${text(a.task_id ?? "none")}</td></tr>` +
      `<tr><th>visit</th><td>${d.visit ? text(local(d.visit.start) + " → " + (d.visit.end ? local(d.visit.end) : "open") + ", " + d.visit.track.length + " positions") : "—"}</td></tr>` +
      `<tr><th>related visits</th><td>${d.related_visits.length}</td></tr></table>` +
      `<pre>${text(JSON.stringify(a.detail, null, 1))}</pre>`;
    $("history").replaceChildren(...d.history.map((h) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${text(local(h.at))}</td><td>${text(h.status)}</td><td>${text(h.actor)}</td><td>${text(h.note ?? "")}</td>`;
      return tr;
    }));
    drawMap(d.site, d.visit);
    setStatus(a.alert_id, a.status);
  } catch (e) { $("message").textContent = e.message; }
}

async function move(action, field, input) {
  if (!selected) return;
  const body = {}; if ($(input).value) body[field] = $(input).value;
  try {
    const a = await api(`/api/v1/alerts/${encodeURIComponent(selected)}/${action}`, { method: "POST", body: JSON.stringify(body) });
    setStatus(a.alert_id, a.status);
    $(input).value = "";
    await show(selected);
  } catch (e) { $("message").textContent = e.message; }
}

async function loadStats() {
  const q = new URLSearchParams();
  if ($("stats-from").value) q.set("from", $("stats-from").value);
  if ($("stats-to").value) q.set("to", $("stats-to").value);
  try {
    const s = await api("/api/v1/stats?" + q);
    const pct = (v, met) => v === null ? "—" : `<span class="${met ? "st-resolved" : "st-open"}">${(v * 100).toFixed(1)} %</span>`;
    $("stats").replaceChildren(...s.rows.map((r) => {
      const tr = document.createElement("tr");
      const alerts = Object.entries(r.alerts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
      tr.innerHTML = `<td>${text(r.agency_id ?? "all agencies")}</td><td>${r.visits}</td><td>${r.occasions}</td>` +
        `<td>${pct(r.planned_share, r.planned_target_met)}</td><td>${pct(r.joint_share, r.joint_target_met)}</td>` +
        `<td>${pct(r.scanned_share, r.scanned_target_met)}</td><td>${r.scans_without_visit}</td><td>${text(alerts || "none")}</td>`;
      return tr;
    }));
  } catch (e) { $("message").textContent = e.message; }
}

async function start() {
  try {
    const me = await api("/api/v1/me");
    $("who").textContent = `${me.name} (${me.role}${me.agency_id ? " · " + me.agency_id : ""})`;
    await loadAlerts();
    listen();
    loadStats();
  } catch (e) { $("message").textContent = e.message; }
}

for (const k of KINDS) { const o = document.createElement("option"); o.value = o.textContent = k; $("filter-kind").append(o); }
$("login").onclick = () => { token = $("token").value.trim(); sessionStorage.setItem("iw-token", token); start(); };
$("filter-status").onchange = $("filter-kind").onchange = () => loadAlerts().catch((e) => { $("message").textContent = e.message; });
$("ack").onclick = () => move("acknowledge", "note", "ack-note");
$("resolve").onclick = () => move("resolve", "reason", "resolve-reason");
$("dismiss").onclick = () => move("dismiss", "reason", "resolve-reason");
$("stats-load").onclick = loadStats;
if (token) start();
