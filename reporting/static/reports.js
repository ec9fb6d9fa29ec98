/* The reports section: a filter bar kept in the URL, the overview / bot / teams / agents
 * dashboards (charts by echarts), the drill-down list behind any figure and the transcript.
 * Every number comes from /api/v1/reports/...; every figure that carries a drill-down key
 * ({metric, value}) links to /reports/conversations with the same filters. Data only ever
 * goes through textContent. This module is the pages' frame and building blocks; the
 * filters <-> URL logic is report_state.js, the dashboards dashboards.js, the list and the
 * transcript drilldown.js. */
import { api } from "/console/static/api.js";
import { $, el } from "/console/static/common.js";
import { formatDuration, humanize } from "/console/static/format.js";
import {
  channelLabel, daysAgo, drillUrl as drillLinkOf, isNum, isPreset, pageExtras as extrasOf,
  parseFilters, previousPeriod as periodBefore, queryString, transcriptUrl as transcriptLinkOf
} from "./report_state.js";

export { channelLabel, queryString };

export const API = "/api/v1/reports";
const PAGE = document.body.getAttribute("data-page");
const REPORT = document.body.getAttribute("data-report");
const OPTIONS = JSON.parse($("report-options").textContent || "{}");
export const PALETTE = ["#2456d6", "#10b981", "#f59e0b", "#8b5cf6", "#ef4444", "#06b6d4", "#ec4899",
  "#84cc16", "#64748b"];
export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
export const state = { me: null, charts: [], loading: 0, directory: { teams: {}, agents: {} } };

function can(permission) { return !!state.me && state.me.permissions.indexOf(permission) >= 0; }

/* ---------- dates and numbers ---------- */

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch { return "UTC"; }
}
export function formatCount(v) { return isNum(v) ? v.toLocaleString() : "—"; }
/* Rates arrive as fractions (0..1). */
export function formatPct(v) { return isNum(v) ? (Math.round(v * 1000) / 10).toLocaleString() + " %" : "—"; }
export function formatSeconds(v) { return isNum(v) ? formatDuration(v) : "—"; }
export function formatScore(v) { return isNum(v) ? v.toFixed(2) : "—"; }
/* Times are shown in the report's time zone, like its days and hours. */
export function formatDate(iso) {
  if (!iso) return "";
  var d = new Date(iso), zone = state.filters && state.filters.tz;
  if (isNaN(d)) return iso;
  var style = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  try { return d.toLocaleString([], Object.assign({ timeZone: zone || undefined }, style)); } catch { return d.toLocaleString([], style); }
}
export function shortDay(iso) {  // "2026-11-03" -> "Nov 3" without a time-zone shift
  var p = String(iso).split("-");
  if (p.length !== 3) return iso;
  return new Date(Number(p[0]), Number(p[1]) - 1, Number(p[2])).toLocaleDateString([], { month: "short", day: "numeric" });
}

/* ---------- filters <-> URL ---------- */

function readFilters() { return parseFilters(location.search, { zone: browserZone() }); }

function pageExtras() { return extrasOf(PAGE, location.search); }

/* The list behind a figure, for readers who may open it (reports.read), else null. */
export function drillUrl(drill) {
  return can("reports.read") ? drillLinkOf(state.filters, drill) : null;
}

export function transcriptUrl(conversationId) {
  return transcriptLinkOf(state.filters, conversationId, pageExtras());
}

function setFilters(filters, push) {
  state.filters = filters;
  var url = location.pathname + "?" + queryString(filters, pageExtras());
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  fillForm();
  updateLinks();
  load();
}

function timeZones() {
  var zones = ["UTC"];
  try { if (Intl.supportedValuesOf) zones = Intl.supportedValuesOf("timeZone"); } catch (e) { /* old browser */ }
  [browserZone(), state.filters.tz, "UTC"].forEach(function (z) { if (z && zones.indexOf(z) < 0) zones.unshift(z); });
  return zones;
}

function option(value, label) { var o = el("option", null, label); o.value = value; return o; }

function buildForm() {
  var tz = $("f-tz");
  timeZones().forEach(function (z) { tz.appendChild(option(z, z.replace(/_/g, " "))); });
  (OPTIONS.channels || []).forEach(function (c) { $("f-channel").appendChild(option(c, channelLabel(c))); });
  (OPTIONS.priorities || []).forEach(function (p) { $("f-priority").appendChild(option(p, humanize(p))); });
  ["f-start", "f-end", "f-tz", "f-team", "f-channel", "f-agent", "f-priority", "f-business"].forEach(function (id) {
    $(id).addEventListener("change", function () { setFilters(formFilters(), true); });
  });
  $("f-intent").addEventListener("change", function () { setFilters(formFilters(), true); });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); setFilters(formFilters(), true); });
  Array.prototype.forEach.call(document.querySelectorAll(".presets button"), function (button) {
    button.addEventListener("click", function () {
      var f = formFilters(), days = Number(button.getAttribute("data-days"));
      f.end = daysAgo(0); f.start = daysAgo(days - 1);
      setFilters(f, true);
    });
  });
  $("f-reset").addEventListener("click", function () {
    setFilters({ start: daysAgo(29), end: daysAgo(0), tz: state.filters.tz }, true);
  });
  window.addEventListener("popstate", function () { state.filters = readFilters(); fillForm(); updateLinks(); load(); });
}

function ensureOption(select, value, label) {
  if (!value) return;
  var found = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  if (!found) select.appendChild(option(value, label || value));
}

function fillForm() {
  var f = state.filters;
  $("f-start").value = f.start || ""; $("f-end").value = f.end || "";
  ensureOption($("f-tz"), f.tz); $("f-tz").value = f.tz || "UTC";
  ensureOption($("f-team"), f.team_id, "Team " + f.team_id); $("f-team").value = f.team_id || "";
  ensureOption($("f-agent"), f.agent_id, "Agent " + f.agent_id); $("f-agent").value = f.agent_id || "";
  ensureOption($("f-channel"), f.channel); $("f-channel").value = f.channel || "";
  ensureOption($("f-priority"), f.priority); $("f-priority").value = f.priority || "";
  $("f-intent").value = f.intent || "";
  $("f-business").checked = f.business_hours === "true";
  Array.prototype.forEach.call(document.querySelectorAll(".presets button"), function (button) {
    var days = Number(button.getAttribute("data-days"));
    button.classList.toggle("active", isPreset(f, days));
  });
}

function formFilters() {
  var f = {
    start: $("f-start").value, end: $("f-end").value, tz: $("f-tz").value,
    team_id: $("f-team").value, agent_id: $("f-agent").value, channel: $("f-channel").value,
    intent: $("f-intent").value.trim(), priority: $("f-priority").value,
    business_hours: $("f-business").checked ? "true" : ""
  };
  return f;
}

/* Tabs keep the filters; the CSV button exports what is on screen. */
function updateLinks() {
  var q = queryString(state.filters);
  Array.prototype.forEach.call(document.querySelectorAll(".report-tabs a"), function (a) {
    a.href = a.getAttribute("href").split("?")[0] + "?" + q;
  });
  var csv = $("csv");
  var csvPath = REPORT ? API + "/" + REPORT + ".csv" : (PAGE === "conversations" ? API + "/conversations.csv" : null);
  csv.hidden = !(csvPath && can("reports.export"));
  if (csvPath) csv.href = csvPath + "?" + queryString(state.filters, pageExtras());
}

/* Teams and agents for the pickers: the console's directory where the reader may see it,
 * else the names the reports themselves carry. */
function loadDirectory() {
  return api("GET", "/api/v1/agent/directory").then(function (d) {
    (d.teams || []).forEach(function (t) { rememberTeam(t.id, t.name); });
    (d.agents || []).forEach(function (a) { rememberAgent(a.id, a.display_name || a.name); });
  }).catch(function () { /* analysts have no console access: the reports fill it in */ });
}

/* Names seen on any report page are kept for the session, so a page that carries only
 * ids (a transcript) or a reader without the console's directory still shows names. */
var NAMES_KEY = "tandem.reports.names";
function loadNames() {
  try {
    var saved = JSON.parse(sessionStorage.getItem(NAMES_KEY) || "{}");
    Object.keys(saved.teams || {}).forEach(function (id) { rememberTeam(id, saved.teams[id]); });
    Object.keys(saved.agents || {}).forEach(function (id) { rememberAgent(id, saved.agents[id]); });
  } catch (e) { /* storage unavailable: names come from this page's reports */ }
}
var saveTimer = null;
function saveNames() {
  if (saveTimer) return;
  saveTimer = setTimeout(function () {
    saveTimer = null;
    try { sessionStorage.setItem(NAMES_KEY, JSON.stringify(state.directory)); } catch (e) { /* ignore */ }
  }, 0);
}

export function rememberTeam(id, name) {
  if (id === null || id === undefined || !name) return;
  if (state.directory.teams[id] === name) return;
  state.directory.teams[id] = name;
  saveNames();
  var select = $("f-team"), value = String(id);
  var existing = Array.prototype.filter.call(select.options, function (o) { return o.value === value; })[0];
  if (existing) existing.textContent = name; else select.appendChild(option(value, name));
  select.value = state.filters.team_id || "";
}

export function rememberAgent(id, name) {
  if (id === null || id === undefined || !name) return;
  if (state.directory.agents[id] === name) return;
  state.directory.agents[id] = name;
  saveNames();
  var select = $("f-agent"), value = String(id);
  var existing = Array.prototype.filter.call(select.options, function (o) { return o.value === value; })[0];
  if (existing) existing.textContent = name; else select.appendChild(option(value, name));
  select.value = state.filters.agent_id || "";
}

export function rememberIntents(names) {
  var list = $("intent-list"), known = {};
  Array.prototype.forEach.call(list.options, function (o) { known[o.value] = true; });
  names.forEach(function (n) { if (n && !known[n]) { list.appendChild(option(n, humanize(n))); known[n] = true; } });
}

/* ---------- building blocks ---------- */

export function drillLink(text, drill, title) {
  var url = drillUrl(drill);
  if (!url) return document.createTextNode(text);
  var a = el("a", "drill", text);
  a.href = url;
  a.title = title || "Show the conversations behind this number";
  return a;
}

/* change: {text, tone: "good" | "bad" | "neutral", title} against the previous period. */
export function kpi(label, value, drill, note, change) {
  var url = drillUrl(drill);
  var box = el(url ? "button" : "div", "kpi");
  if (url) {
    box.type = "button";
    box.title = "Show the conversations behind this number";
    box.addEventListener("click", function () { location.href = url; });
  }
  box.setAttribute("data-kpi", label);
  box.appendChild(el("span", "label", label));
  box.appendChild(el("span", "value", value));
  if (change) {
    var line = el("span", "change " + change.tone, change.text);
    line.title = change.title;
    box.appendChild(line);
  }
  if (note) box.appendChild(el("span", "note", note));
  return box;
}

export function card(title, hint, cls) {
  var box = el("section", "card " + (cls || ""));
  var head = el("div", "card-head");
  head.appendChild(el("h2", null, title));
  if (hint) head.appendChild(el("span", "hint", hint));
  box.appendChild(head);
  return box;
}

export function emptyNote(text) { return el("div", "empty", text || "Nothing in this period."); }

/* An echarts chart in `box`; clicking a point that carries a drill-down opens its list. */
export function chart(box, optionSpec, cls, height) {
  var node = el("div", "chart " + (cls || ""));
  if (height) node.style.height = height + "px";
  box.appendChild(node);
  var instance = window.echarts.init(node, null, { renderer: "canvas" });
  var base = {
    color: PALETTE, animationDuration: 350,
    textStyle: { fontFamily: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", color: "#374151" },
    tooltip: { trigger: "item", confine: true },
    grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true }
  };
  var name = optionSpec.__name || "";
  delete optionSpec.__name;
  instance.setOption(Object.assign(base, optionSpec));
  instance.on("click", function (params) {
    var url = drillUrl(params.data && params.data.drill);
    if (url) location.href = url;
  });
  node.setAttribute("data-chart", name);
  // Screen readers get the card's title; the numbers are in the tiles, tables and the CSV.
  var title = box.querySelector("h2");
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", "Chart: " + (title ? title.textContent : name) + ". Click a part to list its conversations.");
  state.charts.push(instance);
  return instance;
}

export function axisStyle() {
  return { axisLine: { lineStyle: { color: "#d1d5db" } }, axisTick: { show: false },
    axisLabel: { color: "#6b7280" }, splitLine: { lineStyle: { color: "#f1f5f9" } } };
}

/* Horizontal bars: items [{label, value, drill}], sorted as given. */
export function barChart(box, name, items, format) {
  if (!items.length) { box.appendChild(emptyNote()); return null; }
  var fmt = format || formatCount;
  var labels = items.map(function (i) { return i.label; }).reverse();
  var data = items.map(function (i) {
    return { value: i.value, drill: i.drill, itemStyle: { color: i.color || PALETTE[0], borderRadius: [0, 4, 4, 0] } };
  }).reverse();
  var height = Math.max(140, Math.min(420, 34 * items.length + 40));
  var spec = {
    __name: name,
    grid: { left: 24, right: 84, top: 6, bottom: 6, containLabel: true },
    tooltip: { trigger: "item", confine: true, formatter: function (p) { return escapeHtml(p.name) + ": <b>" + escapeHtml(fmt(p.value)) + "</b>"; } },
    xAxis: Object.assign({ type: "value", axisLabel: { show: false } }, { splitLine: { show: false } }),
    yAxis: Object.assign(axisStyle(), { type: "category", data: labels, axisLine: { show: false } }),
    series: [{ type: "bar", name: name, data: data, barMaxWidth: 22,
      label: { show: true, position: "right", color: "#374151", formatter: function (p) { return fmt(p.value); } } }]
  };
  return chart(box, spec, null, height);
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
}

/* A table of figures: columns [{label, value(row) -> {text, drill} | text, num}]. */
export function figureTable(columns, rows, emptyText) {
  var wrap = el("div", "table-scroll");
  var table = el("table", "grid figures");
  var head = el("tr");
  columns.forEach(function (c) { var th = el("th", c.num ? "num" : null, c.label); if (c.title) th.title = c.title; head.appendChild(th); });
  table.appendChild(el("thead")).appendChild(head);
  var body = el("tbody");
  if (!rows.length) {
    var td = el("td", "empty", emptyText || "Nothing in this period."); td.colSpan = columns.length;
    body.appendChild(el("tr")).appendChild(td);
  }
  rows.forEach(function (row) {
    var tr = el("tr", row.total ? "total" : null);
    columns.forEach(function (c) {
      var cell = c.value(row), td = el("td", c.num ? "num" : null);
      if (cell instanceof Node) td.appendChild(cell);
      else if (cell && typeof cell === "object") {
        if (cell.text === "—") td.className += " muted";
        td.appendChild(cell.drill ? drillLink(cell.text, cell.drill) : document.createTextNode(cell.text));
        if (cell.bar !== undefined) td.appendChild(pctBar(cell.bar));
      } else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  table.appendChild(body);
  wrap.appendChild(table);
  return wrap;
}

function pctBar(fraction) {
  var bar = el("span", "pct-bar" + (fraction < 0.8 ? (fraction < 0.6 ? " bad" : " warn") : ""));
  var fill = el("span"); fill.style.width = Math.max(0, Math.min(100, fraction * 100)) + "%";
  bar.appendChild(fill);
  return bar;
}

/* ---------- loading ---------- */

function load() {
  var seq = ++state.loading;
  var body = $("report-body");
  body.classList.add("loading");
  $("report-error").hidden = true;
  var render = RENDERERS[PAGE];
  return render(function (path, extra) {
    return api("GET", path + "?" + queryString(state.filters, extra));
  }).then(function (content) {
    if (seq !== state.loading) return;  // a newer filter change is on its way
    state.charts.forEach(function (c) { c.dispose(); });
    state.charts = [];
    body.textContent = "";
    body.classList.remove("loading");
    content(body);
    document.body.setAttribute("data-loaded", String(seq));
  }).catch(function (err) {
    if (seq !== state.loading) return;
    body.classList.remove("loading");
    showError(err);
  });
}

function showError(err) {
  var box = $("report-error");
  box.hidden = false;
  var prefix = { 403: "You cannot see this report: ", 422: "These filters cannot be used: " }[err.status] || "";
  box.textContent = prefix + (err.message || String(err));
  document.body.setAttribute("data-loaded", "error");
}

export function subtitle(text) { $("report-subtitle").textContent = text; }

export function periodText() {
  var f = state.filters;
  var parts = [shortDay(f.start) + " – " + shortDay(f.end) + " (" + f.tz + ")"];
  if (f.business_hours === "true") parts.push("times in business hours");
  return parts.join(" · ");
}

/* The period of the same length just before the current one (for the tiles' changes). */
export function previousPeriod() { return periodBefore(state.filters); }

/* The page's content by data-page: dashboards.js and drilldown.js add theirs. */
export const RENDERERS = {};

/* ---------- start ---------- */

export function start(me) {
  state.me = me;
  $("supervisor-link").hidden = !can("tickets.assign");
  $("console-link").hidden = !can("tickets.read");
  state.filters = readFilters();
  buildForm();
  history.replaceState(null, "", location.pathname + "?" + queryString(state.filters, pageExtras()));
  fillForm();
  updateLinks();
  if (!can("reports.read")) {
    // Agents have no reports.read, yet the agents report shows them their own row (the API
    // decides); every other report, and the lists behind the figures, stay closed to them.
    Array.prototype.forEach.call(document.querySelectorAll(".report-tabs a"), function (a) {
      a.hidden = a.getAttribute("data-tab") !== "agents";
    });
    if (PAGE !== "agents") {
      showError({ status: 403, message: "this needs the permission 'reports.read'. Your own figures are on the Agents page." });
      var link = el("a", null, "Open my figures");
      link.href = "/reports/agents?" + queryString(state.filters);
      $("report-error").appendChild(document.createTextNode(" "));
      $("report-error").appendChild(link);
      return;
    }
  }
  loadNames();
  loadDirectory();
  load();
  window.addEventListener("resize", function () { state.charts.forEach(function (c) { c.resize(); }); });
}
