// The supervision office's workbench (index.html), served as /static/app.js: no inline script,
// so the Content-Security-Policy allows scripts from this server only. Chinese first; English is
// a switch. Names where the registry has them, codes beside them in grey or on hover.
"use strict";
const TILE_URL = "__TILE_URL__";
const TIME_ZONE = "__TIME_ZONE__";
const BASE_MAP = "__BASE_MAP__";
const KINDS = ["unregistered_visit", "unannounced_visit", "repeated_inspection", "multi_agency_inspection",
               "high_frequency", "out_of_jurisdiction", "tracker_silent", "unscanned_visit"];
const STATUSES = ["open", "acknowledged", "resolved", "dismissed", "withdrawn"];
const PAGE = 100;

const I18N = {
  zh: {
    title: "入企检查监督工作台", tabAlerts: "告警", tabEnterprise: "企业档案", tabOverview: "总览", tokenPlaceholder: "访问令牌", login: "登录",
    alerts: "告警", allAgencies: "全部部门", enterpriseCode: "企业代码", allKinds: "全部类型", statusPending: "待处理和已确认",
    statusAll: "全部状态", from: "起", to: "止", search: "查询", exportCsv: "导出 CSV", exportXlsx: "导出 Excel", colAt: "时间",
    colKind: "类型", colAgency: "执法部门", colEnterprise: "企业 / 场所", colVehicle: "车辆", colStatus: "状态", prev: "上一页",
    next: "下一页", detail: "告警详情", choose: "请选择一条告警。", note: "备注", acknowledge: "确认", reason: "处理说明",
    resolve: "已处理", dismiss: "排除", history: "处理记录", by: "处理人", raw: "原始记录", searchEnterprise: "企业名称或统一社会信用代码",
    year: "年度", enterprise: "企业档案", perAgency: "各部门检查次数", visits: "到访", occasions: "检查次数", counting: "计入上限",
    cap: "上限", withTask: "有任务", withoutTask: "无任务", openAlerts: "未处理告警", timeline: "全年到访时间轴", visitList: "到访记录",
    task: "任务", counts: "计入上限", scansWithoutVisit: "无到访亮码", ratesChart: "三项指标（按部门，虚线为目标）",
    alertsChart: "告警趋势（按月、按类型）", alertMap: "有未处理告警的企业", live: "（实时）", reconnecting: "（重新连接中）",
    notConnected: "（未连接）", shown: (a, b, n) => `第 ${a}–${b} 条，共 ${n} 条`, none: "无", allRow: "全部部门", yes: "是", no: "否",
    openVisit: "进行中", positions: "个定位点", agency: "部门", vehicle: "车辆", site: "场所", visit: "到访", relatedVisits: "相关到访",
    noTask: "无任务", enterprisePage: "企业档案", capNote: (c, cls) => cls ? `上限 ${c} 次（${cls} 类企业）` : `上限 ${c} 次`,
    facts: (e) => `统一社会信用代码 ${e.enterprise_id} · ${e.risk_class ? "分类 " + e.risk_class + " · " : ""}${e.year} 年 · 场所 ${e.sites.length} 个`,
    kinds: { unregistered_visit: "无任务入企", unannounced_visit: "未预告", repeated_inspection: "重复检查", multi_agency_inspection: "多头检查",
             high_frequency: "高频次检查", out_of_jurisdiction: "异地执法", tracker_silent: "定位中断", unscanned_visit: "未亮码" },
    statuses: { open: "待处理", acknowledged: "已确认", resolved: "已处理", dismissed: "已排除", withdrawn: "已撤回" },
    severities: { low: "低", medium: "中", high: "高", critical: "严重" },
  },
  en: {
    title: "Inspection supervision workbench", tabAlerts: "Alerts", tabEnterprise: "Enterprise", tabOverview: "Overview", tokenPlaceholder: "API token",
    login: "Log in", alerts: "Alerts", allAgencies: "all agencies", enterpriseCode: "enterprise code", allKinds: "every kind",
    statusPending: "open and acknowledged", statusAll: "every status", from: "from", to: "to", search: "Search", exportCsv: "Export CSV",
    exportXlsx: "Export Excel", colAt: "at", colKind: "kind", colAgency: "agency", colEnterprise: "enterprise / site", colVehicle: "vehicle",
    colStatus: "status", prev: "Previous", next: "Next", detail: "Alert detail", choose: "Choose an alert.", note: "note",
    acknowledge: "Acknowledge", reason: "reason", resolve: "Resolve", dismiss: "Dismiss", history: "History", by: "by", raw: "Raw record",
    searchEnterprise: "enterprise name or credit code", year: "year", enterprise: "Enterprise", perAgency: "Occasions per agency",
    visits: "visits", occasions: "occasions", counting: "counting", cap: "cap", withTask: "with task", withoutTask: "without task",
    openAlerts: "Open alerts", timeline: "Visits this year", visitList: "Visits", task: "task", counts: "counts", scansWithoutVisit: "scans without a visit",
    ratesChart: "The plan's three rates per agency (dashed: target)", alertsChart: "Alerts per month and kind", alertMap: "Enterprises with open alerts",
    live: "(live)", reconnecting: "(reconnecting)", notConnected: "(not connected)", shown: (a, b, n) => `${a}–${b} of ${n}`, none: "none",
    allRow: "all agencies", yes: "yes", no: "no", openVisit: "open", positions: "positions", agency: "agency", vehicle: "vehicle", site: "site",
    visit: "visit", relatedVisits: "related visits", noTask: "no task", enterprisePage: "enterprise page",
    capNote: (c, cls) => cls ? `cap ${c} (class ${cls})` : `cap ${c}`,
    facts: (e) => `credit code ${e.enterprise_id} · ${e.risk_class ? "class " + e.risk_class + " · " : ""}${e.year} · ${e.sites.length} site(s)`,
    kinds: Object.fromEntries(KINDS.map((k) => [k, k.replace(/_/g, " ")])),
    statuses: Object.fromEntries(STATUSES.map((s) => [s, s])),
    severities: { low: "low", medium: "medium", high: "high", critical: "critical" },
  },
};

let lang = localStorage.getItem("iw-lang") || "zh";
let token = sessionStorage.getItem("iw-token") || "";
let lastEventId = "";
let selected = null, streamAbort = null, offset = 0, total = 0, me = null;
let agencies = {};  // agency_id → name
const maps = {};
const $ = (id) => document.getElementById(id);
const T = () => I18N[lang];
const text = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
// Times in the office's zone: "2026年3月10日 10:05" in Chinese, "2026-03-10 10:05:00" otherwise.
const local = (t) => !t ? "" : lang === "zh"
  ? new Date(t).toLocaleString("zh-CN", { timeZone: TIME_ZONE, year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false })
  : new Date(t).toLocaleString("sv-SE", { timeZone: TIME_ZONE });
const day = (t) => new Date(t).toLocaleDateString(lang === "zh" ? "zh-CN" : "sv-SE", { timeZone: TIME_ZONE, month: lang === "zh" ? "long" : "2-digit", day: "numeric" });
const kindName = (k) => T().kinds[k] || k;
const statusName = (s) => T().statuses[s] || s;
const agencyName = (id) => id ? (agencies[id] || id) : "—";
const named = (name, code) => name && name !== code ? `${text(name)} <span class="code" title="${text(code)}">${text(code)}</span>` : text(code ?? "—");
const say = (m) => { $("message").textContent = m || ""; };

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json", ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
  return body;
}

// A file from the API (the token goes in a header, so a plain link cannot fetch it).
async function download(path) {
  try {
    const response = await fetch(path, { headers: { "Authorization": "Bearer " + token } });
    if (!response.ok) throw new Error(response.statusText);
    const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || "export";
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url; a.download = name; document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) { say(e.message); }
}

// ---------- language ----------
function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) { const v = T()[el.dataset.i18n]; if (typeof v === "string") el.textContent = v; }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = T()[el.dataset.i18nPlaceholder];
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  const kind = $("filter-kind").value;
  $("filter-kind").replaceChildren($("filter-kind").options[0], ...KINDS.map((k) => new Option(kindName(k), k)));
  $("filter-kind").value = kind;
  const status = $("filter-status").value;
  $("filter-status").replaceChildren(...[...$("filter-status").options].slice(0, 2), ...STATUSES.map((s) => new Option(statusName(s), s)));
  $("filter-status").value = status;
  liveState($("live").dataset.state);
}

function liveState(state) {
  $("live").dataset.state = state;
  $("live").textContent = state === "live" ? T().live : state === "reconnecting" ? T().reconnecting : T().notConnected;
}

// ---------- alerts ----------
function row(a, fresh) {
  const tr = document.createElement("tr");
  tr.className = "alert" + (fresh ? " fresh" : "") + (selected === a.alert_id ? " selected" : "");
  tr.dataset.alertId = a.alert_id;
  tr.innerHTML = `<td>${text(local(a.at))}</td><td class="sev-${text(a.severity)}" title="${text(a.kind)}">${text(kindName(a.kind))}</td>` +
    `<td title="${text(a.agency_id ?? "")}">${text(a.agency_name || agencyName(a.agency_id))}</td>` +
    `<td title="${text(a.enterprise_id + " / " + a.site_id)}">${text(a.site_name || a.site_id)}</td>` +
    `<td title="${text(a.vehicle_id)}">${text(a.vehicle_name || a.vehicle_id)}</td>` +
    `<td class="status st-${text(a.status)}" data-status="${text(a.status)}">${text(statusName(a.status))}</td>`;
  tr.onclick = () => show(a.alert_id);
  return tr;
}

function alertQuery() {
  const q = new URLSearchParams();
  if ($("filter-status").value) q.set("status", $("filter-status").value);
  if ($("filter-kind").value) q.set("kind", $("filter-kind").value);
  if ($("filter-agency").value) q.set("agency_id", $("filter-agency").value);
  if ($("filter-enterprise").value.trim()) q.set("enterprise_id", $("filter-enterprise").value.trim());
  if ($("filter-from").value) q.set("from", $("filter-from").value);
  if ($("filter-to").value) q.set("to", $("filter-to").value);
  return q;
}

async function loadAlerts() {
  const q = alertQuery();
  q.set("limit", String(PAGE)); q.set("offset", String(offset));
  const page = await api("/api/v1/alerts?" + q);
  $("alerts").replaceChildren(...page.alerts.map((a) => row(a, false)));
  total = page.total;
  count();
}

function count() {
  const shown = document.querySelectorAll("tr.alert").length;
  $("alerts-count").textContent = T().shown(shown ? offset + 1 : 0, offset + shown, total);
  $("alerts-count").dataset.total = String(total);
  $("page-prev").disabled = offset === 0;
  $("page-next").disabled = offset + shown >= total;
}

function setStatus(id, status) {
  for (const td of document.querySelectorAll(`tr[data-alert-id="${CSS.escape(id)}"] .status`)) {
    td.textContent = statusName(status); td.className = "status st-" + status; td.dataset.status = status;
  }
}

function matchesFilter(a) {
  const status = $("filter-status").value, kind = $("filter-kind").value, agency = $("filter-agency").value, ent = $("filter-enterprise").value.trim();
  return (!status || status.split(",").includes(a.status)) && (!kind || kind === a.kind) && (!agency || agency === a.agency_id) &&
    (!ent || ent === a.enterprise_id) && offset === 0;
}

// Server-Sent Events read through fetch, which (unlike EventSource) can send the token. After a
// reconnect, the server sends what was missed since the last event seen (Last-Event-ID).
async function listen() {
  if (streamAbort) streamAbort.abort();
  streamAbort = new AbortController();
  try {
    const headers = { "Authorization": "Bearer " + token };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const response = await fetch("/api/v1/events", { headers, signal: streamAbort.signal });
    if (!response.ok) throw new Error(response.statusText);
    liveState("live");
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
          const known = document.querySelector(`tr[data-alert-id="${CSS.escape(payload.alert_id)}"]`);
          if (!known && matchesFilter(payload)) { $("alerts").prepend(row(payload, true)); total += 1; count(); }
        } else if (event === "status") {
          setStatus(payload.alert_id, payload.status);
          if (payload.alert_id === selected) show(selected);
        }
      }
    }
  } catch (e) {
    if (e.name === "AbortError") return;
  }
  liveState("reconnecting");
  setTimeout(listen, 3000);
}

// ---------- maps ----------
function makeMap(id) {
  if (!window.L) return null;
  if (maps[id]) return maps[id];
  const map = L.map(id);
  if (TILE_URL) L.tileLayer(TILE_URL, { maxZoom: 19 }).addTo(map);
  if (BASE_MAP) {
    fetch("/static/basemap.geojson").then((r) => r.ok ? r.json() : null).then((g) => {
      if (g) L.geoJSON(g, { style: { color: "#9aa5b1", weight: 1, fill: false }, interactive: false }).addTo(map).bringToBack();
    }).catch(() => {});
  }
  maps[id] = { map, layers: L.featureGroup().addTo(map) };
  return maps[id];
}

function drawSite(layers, site) {
  if (!site || !site.outline) return;
  if (site.outline.circle) {
    const c = site.outline.circle;
    L.circle([c.lat, c.lon], { radius: c.radius_m, color: "#1d3557" }).bindTooltip(site.name || site.site_id).addTo(layers);
  } else if (site.outline.rings.length) {
    L.polygon(site.outline.rings, { color: "#1d3557", fillRule: "evenodd" }).bindTooltip(site.name || site.site_id).addTo(layers);
  }
}

function drawTrack(layers, visit, color) {
  if (!visit || !visit.track || !visit.track.length) return;
  L.polyline(visit.track.map((p) => [p.lat, p.lon]), { color, weight: 3 }).addTo(layers);
  for (const p of visit.track) L.circleMarker([p.lat, p.lon], { radius: 3, color }).bindTooltip(local(p.ts)).addTo(layers);
}

function fit(m) {
  m.map.invalidateSize(false);
  const bounds = m.layers.getBounds();
  if (bounds.isValid()) m.map.fitBounds(bounds.pad(0.1), { animate: false }); else if (!m.map._loaded) m.map.setView([30, 120], 4);
}

// ---------- evidence as sentences ----------
function occasionDates(list) {
  return (list || []).map((o) => day(o.begin)).join("、");
}

function evidence(a, d) {
  const x = a.detail || {}, ag = a.agency_name || agencyName(a.agency_id), site = a.site_name || a.site_id, zh = lang === "zh";
  const tasks = (l) => (l || []).map((t) => `<li><a class="link" data-task="${text(t.task_id)}">${text(t.task_id)}</a> ${text(local(t.start))} – ${text(local(t.end))} (${text(t.status)})</li>`).join("");
  switch (a.kind) {
    case "unregistered_visit":
      return (zh ? `${text(ag)}的车辆 ${text(a.vehicle_name || a.vehicle_id)} 于 ${text(local(x.visit_start))} 进入${text(site)}，没有覆盖这次到访的检查任务；该部门在此企业共有 ${x.agency_tasks_at_enterprise ?? 0} 个任务。`
                 : `A vehicle of ${text(ag)} (${text(a.vehicle_name || a.vehicle_id)}) entered ${text(site)} at ${text(local(x.visit_start))} with no task covering the visit; the agency has ${x.agency_tasks_at_enterprise ?? 0} task(s) at this enterprise.`)
        + (x.nearest_tasks && x.nearest_tasks.length ? `<ul>${tasks(x.nearest_tasks)}</ul>` : "");
    case "unannounced_visit":
      return zh ? `任务 <a class="link" data-task="${text(a.task_id)}">${text(a.task_id)}</a>（${text(x.task_kind)}）须提前预告：应在 ${text(local(x.announce_by))} 前预告，${x.announced_at ? "实际预告于 " + text(local(x.announced_at)) : "未预告"}；到访开始于 ${text(local(x.visit_start))}。`
                : `Task <a class="link" data-task="${text(a.task_id)}">${text(a.task_id)}</a> (${text(x.task_kind)}) must be announced by ${text(local(x.announce_by))}; ${x.announced_at ? "it was announced at " + text(local(x.announced_at)) : "it was not announced"}. The visit began at ${text(local(x.visit_start))}.`;
    case "repeated_inspection":
      return zh ? `${text(ag)}在 ${x.window_days} 天内第 ${(x.previous_count ?? 0) + 1} 次检查该企业：${text(occasionDates(x.previous_occasions))}、本次。`
                : `${text(ag)} inspects this enterprise for the ${(x.previous_count ?? 0) + 1}th time within ${x.window_days} days: ${text(occasionDates(x.previous_occasions))}, and now.`;
    case "multi_agency_inspection":
      return zh ? `${x.window_days} 天内 ${x.distinct} 个部门分别检查该企业（${(x.agencies || []).map((g) => text(agencyName(g))).join("、")}），共 ${x.occasion_count} 次：${text(occasionDates(x.occasions))}。应联合检查。`
                : `${x.distinct} agencies inspected this enterprise separately within ${x.window_days} days (${(x.agencies || []).map((g) => text(agencyName(g))).join(", ")}), ${x.occasion_count} occasions: ${text(occasionDates(x.occasions))}. A joint inspection was due.`;
    case "high_frequency": {
      const capText = T().capNote(x.annual_cap, x.cap_from === "class_caps" ? x.risk_class : null);
      return x.over === "reasonable_cap"
        ? (zh ? `${text(ag)} ${x.year} 年第 ${x.all_occasions} 次到该企业（合理上限 ${x.reasonable_cap} 次）：${text(occasionDates(x.occasions))}。`
              : `${text(ag)}'s occasion no. ${x.all_occasions} at this enterprise in ${x.year} (reasonable cap ${x.reasonable_cap}): ${text(occasionDates(x.occasions))}.`)
        : (zh ? `${text(ag)} 第 ${x.counting_occasions} 次计入上限的检查，该企业 ${x.year} 年（${text(capText)}）：${text(occasionDates(x.occasions))}。`
              : `${text(ag)}'s counting inspection no. ${x.counting_occasions} of this enterprise in ${x.year} (${text(capText)}): ${text(occasionDates(x.occasions))}.`);
    }
    case "out_of_jurisdiction": {
      const j = x.jurisdiction === "*" ? (zh ? "全市" : "everywhere") : (x.jurisdiction || []).join(zh ? "、" : ", ");
      return zh ? `场所所在区域 ${text(x.region)} 不在${text(ag)}的管辖范围（${text(j)}）内，且没有跨区检查任务。`
                : `The site's region ${text(x.region)} is outside ${text(ag)}'s jurisdiction (${text(j)}), and no task allows crossing it.`;
    }
    case "tracker_silent":
      return zh ? `定位中断 ${Math.round((x.gap_s || 0) / 60)} 分钟（${text(local(x.silent_from))} 至 ${text(local(x.silent_to))}），中断前后距场所 ${x.distance_from_m} 米、${x.distance_to_m} 米。`
                : `The tracker was silent for ${Math.round((x.gap_s || 0) / 60)} min (${text(local(x.silent_from))} to ${text(local(x.silent_to))}), ${x.distance_from_m} m and ${x.distance_to_m} m from the site before and after.`;
    case "unscanned_visit":
      return zh ? `检查期间（${text(local(x.window_from))} 至 ${text(local(x.window_to))}）没有${text(ag)}的亮码记录；该部门在此企业共有 ${x.agency_scans_at_enterprise ?? 0} 条亮码记录。`
                : `No code scan by ${text(ag)} during the inspection (${text(local(x.window_from))} to ${text(local(x.window_to))}); the agency has ${x.agency_scans_at_enterprise ?? 0} scan(s) at this enterprise.`;
    default:
      return "";
  }
}

async function show(id) {
  selected = id;
  for (const tr of document.querySelectorAll("tr.alert")) tr.classList.toggle("selected", tr.dataset.alertId === id);
  say("");
  try {
    const d = await api("/api/v1/alerts/" + encodeURIComponent(id));
    const a = d.alert;
    $("detail-body").classList.remove("muted");
    const t = T();
    $("detail-body").innerHTML =
      `<table><tr><th>${t.colKind}</th><td class="sev-${text(a.severity)}">${text(kindName(a.kind))} · ${text(t.severities[a.severity] || a.severity)} <span class="code" id="detail-id">${text(a.alert_id)}</span></td></tr>` +
      `<tr><th>${t.colStatus}</th><td id="detail-status" class="st-${text(a.status)}" data-status="${text(a.status)}">${text(statusName(a.status))}</td></tr>` +
      `<tr><th>${t.colAt}</th><td>${text(local(a.at))}</td></tr>` +
      `<tr><th>${t.colEnterprise}</th><td>${named(a.site_name, a.site_id)} · <a class="link" id="detail-enterprise" data-enterprise="${text(a.enterprise_id)}" data-year="${text(a.at.slice(0, 4))}">${text(t.enterprisePage)} ${text(a.enterprise_id)}</a></td></tr>` +
      `<tr><th>${t.colAgency}</th><td>${named(a.agency_name, a.agency_id)}</td></tr>` +
      `<tr><th>${t.colVehicle}</th><td>${named(a.vehicle_name, a.vehicle_id)}</td></tr>` +
      `<tr><th>${t.task}</th><td>${a.task_id ? `<a class="link" data-task="${text(a.task_id)}">${text(a.task_id)}</a>` : text(t.noTask)}</td></tr>` +
      `<tr><th>${t.visit}</th><td>${d.visit ? text(local(d.visit.start) + " → " + (d.visit.end ? local(d.visit.end) : t.openVisit) + " · " + d.visit.track.length + " " + t.positions) : "—"}</td></tr>` +
      `<tr><th>${t.relatedVisits}</th><td>${d.related_visits.map((v) => `<a class="link" data-visit="${text(v.visit_id)}">${text(local(v.start))} ${text(v.agency_name || agencyName(v.agency_id))}</a>`).join("<br>") || "—"}</td></tr></table>`;
    $("evidence").innerHTML = `<div class="evidence" id="evidence-text">${evidence(a, d)}</div>`;
    $("raw").textContent = JSON.stringify(a, null, 1);
    $("history").replaceChildren(...d.history.map((h) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${text(local(h.at))}</td><td class="st-${text(h.status)}">${text(statusName(h.status))}</td><td>${text(h.actor)}</td><td>${text(h.note ?? "")}</td>`;
      return tr;
    }));
    const m = makeMap("map");
    if (m) { m.layers.clearLayers(); drawSite(m.layers, d.site); drawTrack(m.layers, d.visit, "#e63946"); fit(m); }
    setStatus(a.alert_id, a.status);
  } catch (e) { say(e.message); }
}

// Links inside the detail: a task's fields, another visit's track, the enterprise page.
document.addEventListener("click", async (ev) => {
  const el = ev.target.closest("a.link");
  if (!el) return;
  try {
    if (el.dataset.task) {
      const t = await api("/api/v1/tasks/" + encodeURIComponent(el.dataset.task));
      $("evidence").insertAdjacentHTML("beforeend", `<div class="evidence task-info">${text(t.task_id)} · ${text(t.kind)} · ${text(agencyName(t.agency_id))} · ` +
        `${text(local(t.start))} – ${text(local(t.end))}${t.announced_at ? " · " + text(local(t.announced_at)) : ""} · ${text(t.status)}</div>`);
    } else if (el.dataset.visit) {
      const v = await api("/api/v1/visits/" + encodeURIComponent(el.dataset.visit));
      const m = makeMap("map");
      if (m) { drawTrack(m.layers, v.visit, "#457b9d"); fit(m); }
    } else if (el.dataset.enterprise) {
      if (el.dataset.year) $("enterprise-year").value = el.dataset.year;
      await openEnterprise(el.dataset.enterprise);
    }
  } catch (e) { say(e.message); }
});

async function move(action, field, input) {
  if (!selected) return;
  const body = {}; if ($(input).value) body[field] = $(input).value;
  try {
    const a = await api(`/api/v1/alerts/${encodeURIComponent(selected)}/${action}`, { method: "POST", body: JSON.stringify(body) });
    setStatus(a.alert_id, a.status);
    $(input).value = "";
    await show(selected);
  } catch (e) { say(e.message); }
}

// ---------- the enterprise page ----------
async function searchEnterprises() {
  const q = $("enterprise-search").value.trim();
  if (!q) return;
  try {
    const found = await api("/api/v1/sites?limit=20&q=" + encodeURIComponent(q));
    const seen = new Set();
    const rows = [];
    for (const f of found.features) {
      const p = f.properties;
      if (seen.has(p.enterprise_id)) continue;
      seen.add(p.enterprise_id);
      const tr = document.createElement("tr");
      tr.className = "pick";
      tr.innerHTML = `<td>${text(p.name || p.site_id)}</td><td class="code">${text(p.enterprise_id)}</td><td>${text(p.region || "")}</td>`;
      tr.onclick = () => openEnterprise(p.enterprise_id);
      rows.push(tr);
    }
    $("enterprise-results").replaceChildren(...rows);
    if (rows.length === 1) rows[0].onclick();
  } catch (e) { say(e.message); }
}

async function openEnterprise(id) {
  view("enterprise");
  const year = $("enterprise-year").value || String(new Date().getFullYear());
  $("enterprise-year").value = year;
  try {
    const e = await api(`/api/v1/enterprises/${encodeURIComponent(id)}?year=${year}`);
    const t = T();
    $("enterprise-name").textContent = e.name || e.enterprise_id;
    $("enterprise-name").dataset.enterprise = e.enterprise_id;
    $("enterprise-facts").textContent = t.facts(e) + " · " + t.capNote(e.annual_cap, e.risk_class);
    $("enterprise-agencies").replaceChildren(...e.agencies.map((g) => {
      const tr = document.createElement("tr");
      tr.dataset.agency = g.agency_id;
      tr.innerHTML = `<td>${named(g.agency_name, g.agency_id)}</td><td>${g.visits}</td><td>${g.occasions}</td>` +
        `<td class="${g.over_cap ? "over" : "ok"}" data-counting="${g.counting_occasions}">${g.counting_occasions}</td><td>${e.annual_cap}</td>` +
        `<td>${g.with_task}</td><td>${g.without_task}</td>`;
      return tr;
    }));
    $("enterprise-alerts").replaceChildren(...e.open_alerts.map((a) => {
      const tr = document.createElement("tr");
      tr.className = "pick";
      tr.innerHTML = `<td>${text(local(a.at))}</td><td class="sev-${text(a.severity)}">${text(kindName(a.kind))}</td><td>${text(a.agency_name || agencyName(a.agency_id))}</td><td class="st-${text(a.status)}">${text(statusName(a.status))}</td>`;
      tr.onclick = () => { view("alerts"); show(a.alert_id); };
      return tr;
    }));
    $("enterprise-visits").replaceChildren(...e.visits.slice().reverse().map((v) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${text(local(v.start))}</td><td>${text(v.agency_name || agencyName(v.agency_id))}</td><td>${text(v.vehicle_name || v.vehicle_id)}</td>` +
        `<td>${v.task_id ? text(v.task_id) + " " + text(v.task_kind_name || "") : text(t.noTask)}</td><td>${v.counts_towards_cap ? t.yes : t.no}</td>`;
      return tr;
    }));
    timeline(e);
  } catch (err) { say(err.message); }
}

// One row per agency, the year's months across, a dot per visit (filled: it counts towards the cap).
function timeline(e) {
  const ids = [...new Set(e.visits.map((v) => v.agency_id || "—"))];
  const w = 560, left = 110, rowH = 26, h = 24 + rowH * Math.max(1, ids.length);
  const start = Date.UTC(e.year, 0, 1) - 8 * 3600e3, end = Date.UTC(e.year + 1, 0, 1) - 8 * 3600e3;
  const x = (t) => left + (w - left - 10) * (t - start) / (end - start);
  let svg = `<svg width="${w}" height="${h}" role="img">`;
  for (let m = 0; m < 12; m++) {
    const mx = x(Date.UTC(e.year, m, 1) - 8 * 3600e3);
    svg += `<line x1="${mx}" y1="14" x2="${mx}" y2="${h}" stroke="#e4e6ea"/><text x="${mx + 2}" y="11">${lang === "zh" ? m + 1 + "月" : m + 1}</text>`;
  }
  ids.forEach((id, i) => {
    const y = 24 + i * rowH + rowH / 2;
    svg += `<text x="0" y="${y + 4}">${text((agencies[id] || id).slice(0, 9))}</text>`;
    for (const v of e.visits.filter((v) => (v.agency_id || "—") === id)) {
      svg += `<circle class="visit-dot" cx="${x(Date.parse(v.start))}" cy="${y}" r="5" fill="${v.counts_towards_cap ? "#e63946" : "#fff"}" stroke="#e63946"><title>${text(local(v.start))} ${text(v.task_id || T().noTask)}</title></circle>`;
    }
  });
  $("enterprise-timeline").innerHTML = svg + "</svg>";
}

// ---------- the overview ----------
function statsQuery() {
  const q = new URLSearchParams();
  if ($("stats-from").value) q.set("from", $("stats-from").value);
  if ($("stats-to").value) q.set("to", $("stats-to").value);
  if ($("stats-agency").value) q.set("agency_id", $("stats-agency").value);
  return q;
}

async function loadStats() {
  try {
    const s = await api("/api/v1/stats?" + statsQuery());
    const pct = (v, met) => v === null ? "—" : `<span class="${met ? "ok" : "over"}">${(v * 100).toFixed(1)} %</span>`;
    $("stats").replaceChildren(...s.rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.agency = r.agency_id ?? "";
      const alerts = Object.entries(r.alerts).filter(([, n]) => n > 0).map(([k, n]) => `${kindName(k)} ${n}`).join("、");
      tr.innerHTML = `<td>${r.agency_id ? named(agencies[r.agency_id], r.agency_id) : text(T().allRow)}</td><td>${r.visits}</td><td>${r.occasions}</td>` +
        `<td>${pct(r.planned_share, r.planned_target_met)}</td><td>${pct(r.joint_share, r.joint_target_met)}</td>` +
        `<td>${pct(r.scanned_share, r.scanned_target_met)}</td><td>${r.scans_without_visit}</td><td>${text(alerts || T().none)}</td>`;
      return tr;
    }));
    ratesChart(s);
    const series = await api("/api/v1/stats/series?interval=month&" + statsQuery());
    alertsChart(series);
    await alertMap();
  } catch (e) { say(e.message); }
}

// Bars per agency for the three rates, the targets as dashed lines.
function ratesChart(s) {
  const rows = s.rows.filter((r) => r.agency_id);
  const rates = [["planned_share", "计划检查率", s.targets.planned_share, "#457b9d"], ["joint_share", "联合检查实施率", s.targets.joint_share, "#2a9d8f"],
                 ["scanned_share", "亮码检查率", s.targets.scanned_share, "#e9c46a"]];
  const group = 3 * 14 + 40, w = Math.max(360, 60 + rows.length * group), h = 200, top = 10, base = 170;
  const y = (v) => base - (base - top) * v;
  let svg = `<svg id="rates-svg" width="${w}" height="${h}">`;
  for (const v of [0, 0.5, 1]) svg += `<line x1="40" x2="${w}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="4" y="${y(v) + 4}">${v * 100}%</text>`;
  rows.forEach((r, i) => {
    rates.forEach(([key, , , color], k) => {
      const v = r[key]; if (v === null) return;
      svg += `<rect class="rate-bar" x="${48 + i * group + k * 14}" y="${y(v)}" width="12" height="${base - y(v)}" fill="${color}"><title>${text(agencyName(r.agency_id))} ${(v * 100).toFixed(1)}%</title></rect>`;
    });
    svg += `<text x="${48 + i * group}" y="${base + 14}">${text(agencyName(r.agency_id).slice(0, 5))}</text>`;
  });
  for (const [, name, target, color] of rates) {
    svg += `<line class="target" x1="40" x2="${w}" y1="${y(target)}" y2="${y(target)}" stroke="${color}" stroke-dasharray="5 4"><title>${name} ${target * 100}%</title></line>`;
  }
  $("chart-rates").innerHTML = svg + "</svg>" + `<div class="legend">${rates.map(([, n, t, c]) => `<span><i style="background:${c}"></i>${n} ≥ ${t * 100}%</span>`).join("")}</div>`;
}

// Stacked bars of alerts per month by kind.
function alertsChart(series) {
  const colors = ["#e63946", "#f4a261", "#e9c46a", "#2a9d8f", "#264653", "#8d99ae", "#6d597a", "#b56576"];
  // The row for all agencies when there is one (a supervisor's), else the agency's own rows.
  const sums = series.periods.map((p) => {
    const all = p.rows.find((r) => !r.agency_id);
    const rows = all ? [all] : p.rows;
    return KINDS.map((k) => rows.reduce((n, r) => n + (r.alerts[k] || 0), 0));
  });
  const max = Math.max(1, ...sums.map((a) => a.reduce((x, y) => x + y, 0)));
  const bw = 26, w = Math.max(360, 50 + sums.length * (bw + 8)), base = 170, top = 10;
  let svg = `<svg id="alerts-svg" width="${w}" height="200"><text x="4" y="${top + 4}">${max}</text>`;
  sums.forEach((counts, i) => {
    let yTop = base;
    counts.forEach((n, k) => {
      if (!n) return;
      const hgt = (base - top) * n / max;
      yTop -= hgt;
      svg += `<rect class="alert-bar" x="${44 + i * (bw + 8)}" y="${yTop}" width="${bw}" height="${hgt}" fill="${colors[k]}"><title>${kindName(KINDS[k])} ${n}</title></rect>`;
    });
    svg += `<text x="${44 + i * (bw + 8)}" y="${base + 14}">${text(day(series.periods[i].from).replace(/1日$/, ""))}</text>`;
  });
  $("chart-alerts").innerHTML = svg + "</svg>" + `<div class="legend">${KINDS.map((k, i) => `<span><i style="background:${colors[i]}"></i>${text(kindName(k))}</span>`).join("")}</div>`;
}

// Sites with open or acknowledged alerts; a click opens the enterprise page.
async function alertMap() {
  const m = makeMap("overview-map");
  if (!m) return;
  const open = await api("/api/v1/alerts?status=open,acknowledged&limit=1000" + ($("stats-agency").value ? "&agency_id=" + encodeURIComponent($("stats-agency").value) : ""));
  const bySite = new Map();
  for (const a of open.alerts) {
    if (!a.site_center) continue;
    const s = bySite.get(a.site_id) || { a, n: 0 };
    s.n += 1; bySite.set(a.site_id, s);
  }
  m.layers.clearLayers();
  for (const { a, n } of bySite.values()) {
    L.circleMarker(a.site_center, { radius: 5 + Math.min(10, n), color: "#b00020", className: "alert-site" })
      .bindTooltip(`${a.site_name || a.site_id} · ${n}`).on("click", () => openEnterprise(a.enterprise_id)).addTo(m.layers);
  }
  fit(m);
}

// ---------- wiring ----------
function view(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("on", b.dataset.view === name);
  for (const v of document.querySelectorAll(".view")) v.classList.toggle("on", v.id === "view-" + name);
  // A map drawn while its view was hidden had no size: measured again, and fitted to what it shows.
  for (const m of Object.values(maps)) setTimeout(() => { m.map.invalidateSize(); fit(m); }, 0);
  if (name === "overview" && me) loadStats();
}

async function start() {
  try {
    me = await api("/api/v1/me");
    const list = await api("/api/v1/agencies");
    agencies = Object.fromEntries(list.agencies.map((a) => [a.agency_id, a.name]));
    for (const sel of [$("filter-agency"), $("stats-agency")]) {
      sel.replaceChildren(sel.options[0], ...list.agencies.map((a) => new Option(a.name, a.agency_id)));
    }
    $("who").textContent = `${me.name} · ${me.role}${me.agency_id ? " · " + agencyName(me.agency_id) : ""}`;
    offset = 0;
    await loadAlerts();
    listen();
  } catch (e) { say(e.message); }
}

for (const b of document.querySelectorAll("nav button")) b.onclick = () => view(b.dataset.view);
$("lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("iw-lang", lang); applyLanguage(); if (me) { loadAlerts(); if (selected) show(selected); } };
$("login").onclick = () => { token = $("token").value.trim(); sessionStorage.setItem("iw-token", token); start(); };
const reload = () => { offset = 0; loadAlerts().catch((e) => say(e.message)); };
$("filter-apply").onclick = reload;
for (const id of ["filter-status", "filter-kind", "filter-agency"]) $(id).onchange = reload;
$("page-prev").onclick = () => { offset = Math.max(0, offset - PAGE); loadAlerts().catch((e) => say(e.message)); };
$("page-next").onclick = () => { offset += PAGE; loadAlerts().catch((e) => say(e.message)); };
$("export-csv").onclick = () => download("/api/v1/alerts?format=csv&" + alertQuery());
$("export-xlsx").onclick = () => download("/api/v1/alerts?format=xlsx&" + alertQuery());
$("stats-csv").onclick = () => download("/api/v1/stats?format=csv&" + statsQuery());
$("stats-xlsx").onclick = () => download("/api/v1/stats?format=xlsx&" + statsQuery());
$("ack").onclick = () => move("acknowledge", "note", "ack-note");
$("resolve").onclick = () => move("resolve", "reason", "resolve-reason");
$("dismiss").onclick = () => move("dismiss", "reason", "resolve-reason");
$("stats-load").onclick = loadStats;
$("enterprise-go").onclick = searchEnterprises;
$("enterprise-search").onkeydown = (e) => { if (e.key === "Enter") searchEnterprises(); };
applyLanguage();
if (token) start();
