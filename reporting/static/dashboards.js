/* The four dashboards (overview, bot, teams, agents) drawn from the reports API's typed
 * figures (reporting/schemas.py): every Figure and Duration carries {metric, value}, which
 * becomes the link to the conversations behind it; and the summary e-mails. */
import { api } from "/console/static/api.js";
import { $, el, startWithLogin, toast } from "/console/static/common.js";
import { formatDuration, humanize } from "/console/static/format.js";
import { amount, change as changeOf, drillOf } from "./report_state.js";
import * as R from "./reports.js";

const API = R.API, PALETTE = R.PALETTE;
const OUTCOME_COLORS = { contained: "#10b981", handed_off: "#2456d6", no_reply: "#f59e0b" };
const BACKLOG_COLORS = { new: "#2456d6", open: "#10b981", pending: "#f59e0b", on_hold: "#8b5cf6" };

/* ---------- figures ---------- */

function formatFigure(figure) {
  var v = amount(figure);
  if (v === null) return "—";
  switch (figure.unit) {
    case "percent": return (Math.round(v * 10) / 10).toLocaleString() + " %";
    case "seconds": return formatDuration(v);
    case "score": return v.toFixed(2);
    default: return R.formatCount(v);
  }
}

function durationText(duration) {
  if (!duration || duration.average_seconds === null || duration.average_seconds === undefined) return "—";
  return formatDuration(duration.average_seconds);
}

function durationDrill(duration) {
  if (!duration || !duration.metric || !duration.conversations) return null;
  return { metric: duration.metric, value: duration.value };
}

function durationNote(duration) {
  if (!duration || !duration.samples) return "no samples";
  var parts = [];
  if (duration.median_seconds !== null && duration.median_seconds !== undefined) parts.push("median " + formatDuration(duration.median_seconds));
  parts.push(R.formatCount(duration.samples) + " measured");
  if (duration.business_hours) parts.push("business hours");
  return parts.join(" · ");
}

/* The change against the previous period (report_state.js), with the period it compares
 * with as its title. */
function change(current, previous, unit, better) {
  var period = R.previousPeriod();
  var delta = period ? changeOf(current, previous, unit, better) : null;
  if (!delta) return null;
  delta.title = "against the " + period.days + " days before (" + R.shortDay(period.start) + " – " + R.shortDay(period.end) + ")";
  return delta;
}

function kpiFigure(figure, label, note, previous, better) {
  var delta = previous ? change(amount(figure), amount(previous), figure.unit, better) : null;
  return R.kpi(label || figure.label, formatFigure(figure), drillOf(figure), note, delta);
}

function kpiDuration(duration, label, previous) {
  var delta = previous ? change(duration.average_seconds, previous.average_seconds, "seconds", "down") : null;
  return R.kpi(label || duration.label, durationText(duration), durationDrill(duration), durationNote(duration), delta);
}

/* The report and, for the tiles' changes, the same report of the period before (best effort). */
function withPrevious(get, path) {
  var period = R.previousPeriod();
  var previous = period ? get(path, { start: period.start, end: period.end }).catch(function () { return null; }) : Promise.resolve(null);
  return Promise.all([get(path), previous]);
}

function kpis(items) {
  var box = el("div", "kpis");
  items.forEach(function (item) { if (item) box.appendChild(item); });
  return box;
}

function byAmount(figures) {
  return figures.slice().sort(function (a, b) { return (amount(b) || 0) - (amount(a) || 0); });
}

function barsOf(figures, label, color) {
  return figures.map(function (f, n) {
    return { label: label ? label(f) : f.label, value: amount(f) || 0, drill: drillOf(f),
      color: typeof color === "function" ? color(f, n) : color };
  });
}

function cell(figure) { return { text: formatFigure(figure), drill: drillOf(figure) }; }
function durationCell(duration) { return { text: durationText(duration), drill: durationDrill(duration) }; }
function pctCell(figure) {
  var v = amount(figure), c = cell(figure);
  if (v !== null && figure.unit === "percent") c.bar = v / 100;
  return c;
}

function pendingNote(meta, compared) {
  var parts = [R.periodText()];
  var period = compared && R.previousPeriod();
  if (period) parts.push("changes against the " + period.days + " days before");
  if (meta && meta.team_scope) parts.push("your teams only");
  if (meta && meta.pending_refresh) parts.push(meta.pending_refresh + " recent changes still being counted");
  R.subtitle(parts.join(" · "));
}

function grid(children) {
  var box = el("div", "cards");
  children.forEach(function (c) { if (c) box.appendChild(c); });
  return box;
}

/* Chart builders run once the card is in the page, so echarts knows its size. */
function later(box, draw) { box.__draw = draw; return box; }
function drawAll(root) {
  Array.prototype.forEach.call(root.querySelectorAll(".card"), function (box) { if (box.__draw) box.__draw(box); });
}

/* ---------- overview (volume) ---------- */

function dayChart(box, report) {
  var days = report.by_day;
  if (!days.some(function (d) { return amount(d.conversations); })) { box.appendChild(R.emptyNote()); return; }
  var axis = R.axisStyle();
  R.chart(box, {
    __name: "volume-by-day",
    tooltip: { trigger: "axis", confine: true },
    legend: { top: 0, left: 0, icon: "roundRect", itemWidth: 10, itemHeight: 10, textStyle: { color: "#6b7280" } },
    grid: { left: 8, right: 8, top: 36, bottom: 4, containLabel: true },
    xAxis: Object.assign({}, axis, { type: "category", data: days.map(function (d) { return R.shortDay(d.key); }), boundaryGap: true }),
    yAxis: [Object.assign({}, axis, { type: "value", minInterval: 1, axisLine: { show: false } }),
      Object.assign({}, axis, { type: "value", minInterval: 1, axisLine: { show: false }, splitLine: { show: false } })],
    series: [
      { name: "Conversations", type: "bar", barMaxWidth: 18, itemStyle: { color: PALETTE[0], borderRadius: [3, 3, 0, 0] },
        data: days.map(function (d) { return { value: amount(d.conversations) || 0, drill: drillOf(d.conversations) }; }) },
      { name: "Messages", type: "line", yAxisIndex: 1, smooth: true, symbol: "circle", symbolSize: 5, itemStyle: { color: PALETTE[1] }, lineStyle: { width: 2 },
        data: days.map(function (d) { return { value: amount(d.messages) || 0, drill: drillOf(d.messages) }; }) }
    ]
  }, "tall");
}

function heatmapChart(box, report) {
  var cells = report.heatmap, max = 0;
  cells.forEach(function (c) { max = Math.max(max, amount(c.conversations) || 0); });
  if (!max) { box.appendChild(R.emptyNote()); return; }
  var hours = [];
  for (var h = 0; h < 24; h++) hours.push(String(h).padStart(2, "0"));
  var axis = R.axisStyle();
  R.chart(box, {
    __name: "volume-heatmap",
    tooltip: { position: "top", confine: true, formatter: function (p) {
      return R.escapeHtml(p.data.label) + ": <b>" + R.formatCount(p.data.value[2]) + "</b> conversations"; } },
    grid: { left: 8, right: 8, top: 6, bottom: 44, containLabel: true },
    xAxis: Object.assign({}, axis, { type: "category", data: hours, splitArea: { show: false }, axisLine: { show: false } }),
    yAxis: Object.assign({}, axis, { type: "category", data: R.WEEKDAYS.slice().reverse(), axisLine: { show: false } }),
    visualMap: { min: 0, max: max, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 160, itemWidth: 10,
      text: ["busy", "quiet"], textStyle: { color: "#6b7280" }, inRange: { color: ["#f1f5f9", "#bfdbfe", "#60a5fa", "#2456d6", "#1e3a8a"] } },
    series: [{ type: "heatmap", name: "Conversations",
      itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: 3 },
      emphasis: { itemStyle: { borderColor: "#111827", borderWidth: 1 } },
      data: cells.map(function (c) {
        return { value: [c.hour, 6 - c.weekday, amount(c.conversations) || 0], label: c.conversations.label, drill: drillOf(c.conversations) };
      }) }]
  });
}

function hourChart(box, report) {
  var hours = report.by_hour;
  if (!hours.some(function (b) { return amount(b.conversations); })) { box.appendChild(R.emptyNote()); return; }
  var axis = R.axisStyle();
  R.chart(box, {
    __name: "volume-by-hour",
    tooltip: { trigger: "axis", confine: true },
    grid: { left: 8, right: 8, top: 12, bottom: 4, containLabel: true },
    xAxis: Object.assign({}, axis, { type: "category", data: hours.map(function (b) { return b.label.slice(0, 2); }) }),
    yAxis: Object.assign({}, axis, { type: "value", minInterval: 1, axisLine: { show: false } }),
    series: [{ type: "bar", name: "Conversations", barMaxWidth: 14, itemStyle: { color: PALETTE[3], borderRadius: [3, 3, 0, 0] },
      data: hours.map(function (b) { return { value: amount(b.conversations) || 0, drill: drillOf(b.conversations) }; }) }]
  }, "short");
}

function backlogChart(box, report) {
  var total = report.backlog.reduce(function (s, f) { return s + (amount(f) || 0); }, 0);
  if (!total) { box.appendChild(R.emptyNote("No open tickets right now.")); return; }
  R.chart(box, {
    __name: "volume-backlog",
    tooltip: { trigger: "item", confine: true, formatter: "{b}: <b>{c}</b> ({d} %)" },
    legend: { bottom: 0, icon: "circle", itemWidth: 9, textStyle: { color: "#6b7280" } },
    series: [{ type: "pie", name: "Backlog", radius: ["48%", "72%"], center: ["50%", "44%"], avoidLabelOverlap: true,
      label: { show: true, position: "center", formatter: function () { return "{n|" + R.formatCount(total) + "}\n{t|active}"; },
        rich: { n: { fontSize: 24, fontWeight: 650, color: "#111827" }, t: { fontSize: 12, color: "#6b7280", padding: [4, 0, 0, 0] } } },
      emphasis: { label: { show: true } }, labelLine: { show: false },
      itemStyle: { borderColor: "#fff", borderWidth: 2 },
      data: report.backlog.map(function (f) {
        return { name: humanize(f.label), value: amount(f) || 0, drill: drillOf(f), itemStyle: { color: BACKLOG_COLORS[f.value] } };
      }) }]
  });
}

R.RENDERERS.overview = function (get) {
  return withPrevious(get, API + "/volume").then(function (both) {
    var report = both[0], before = both[1];
    report.by_team.forEach(function (b) { if (b.key !== "none") R.rememberTeam(b.key, b.label); });
    return function (body) {
      pendingNote(report.meta, before && amount(before.conversations) > 0);
      var backlogTotal = report.backlog.reduce(function (s, f) { return s + (amount(f) || 0); }, 0);
      var perConversation = amount(report.conversations) ? amount(report.messages) / amount(report.conversations) : null;
      body.appendChild(kpis([
        kpiFigure(report.conversations, "Conversations", "started in the period", before && before.conversations),
        kpiFigure(report.messages, "Messages", perConversation === null ? null : perConversation.toFixed(1) + " per conversation", before && before.messages),
        kpiFigure(report.customer_messages, "Customer messages", "written by customers", before && before.customer_messages),
        R.kpi("Backlog now", R.formatCount(backlogTotal), null, "active tickets, any date")
      ]));
      body.appendChild(grid([
        later(R.card("Conversations and messages per day", "by the conversation's start date", "wide"), function (b) { dayChart(b, report); }),
        later(R.card("By channel", "conversations"), function (b) {
          R.barChart(b, "volume-by-channel", barsOf(byAmount(report.by_channel.map(function (x) { return x.conversations; })), function (f) { return R.channelLabel(f.value); }, PALETTE[0]));
        }),
        later(R.card("By team", "conversations; 'No team' stayed with the bot"), function (b) {
          R.barChart(b, "volume-by-team", barsOf(byAmount(report.by_team.map(function (x) { return x.conversations; })), null, PALETTE[1]));
        }),
        later(R.card("Busiest hours", "weekday × hour, conversations started", "two-thirds"), function (b) { heatmapChart(b, report); }),
        later(R.card("Backlog by state", "active tickets now", "third"), function (b) { backlogChart(b, report); }),
        later(R.card("By hour of day", "conversations started", "wide"), function (b) { hourChart(b, report); })
      ]));
      drawAll(body);
    };
  });
};

/* ---------- bot ---------- */

function outcomeChart(box, report) {
  var total = amount(report.episodes) || 0;
  if (!total) { box.appendChild(R.emptyNote()); return; }
  R.chart(box, {
    __name: "bot-outcomes",
    tooltip: { trigger: "item", confine: true, formatter: "{b}: <b>{c}</b> ({d} %)" },
    legend: { bottom: 0, icon: "circle", itemWidth: 9, textStyle: { color: "#6b7280" } },
    series: [{ type: "pie", name: "Outcomes", radius: ["48%", "72%"], center: ["50%", "44%"],
      label: { show: true, position: "center", formatter: function () { return "{n|" + R.formatCount(total) + "}\n{t|episodes}"; },
        rich: { n: { fontSize: 24, fontWeight: 650, color: "#111827" }, t: { fontSize: 12, color: "#6b7280", padding: [4, 0, 0, 0] } } },
      labelLine: { show: false }, itemStyle: { borderColor: "#fff", borderWidth: 2 },
      data: report.outcomes.map(function (f) {
        return { name: f.label, value: amount(f) || 0, drill: drillOf(f), itemStyle: { color: OUTCOME_COLORS[f.value || f.metric.split(".").pop()] } };
      }) }]
  });
}

function kbChart(box, report) {
  var helpful = amount(report.kb_helpful) || 0, unhelpful = amount(report.kb_not_helpful) || 0;
  if (!helpful && !unhelpful) { box.appendChild(R.emptyNote("No article was rated in this period.")); return; }
  R.chart(box, {
    __name: "bot-kb-ratings",
    tooltip: { trigger: "item", confine: true, formatter: "{b}: <b>{c}</b> ({d} %)" },
    legend: { bottom: 0, icon: "circle", itemWidth: 9, textStyle: { color: "#6b7280" } },
    series: [{ type: "pie", name: "Ratings", radius: ["48%", "72%"], center: ["50%", "44%"],
      label: { show: true, position: "center", formatter: function () { return "{n|" + formatFigure(report.kb_helpful_rate) + "}\n{t|helpful}"; },
        rich: { n: { fontSize: 22, fontWeight: 650, color: "#111827" }, t: { fontSize: 12, color: "#6b7280", padding: [4, 0, 0, 0] } } },
      labelLine: { show: false }, itemStyle: { borderColor: "#fff", borderWidth: 2 },
      data: [
        { name: report.kb_helpful.label || "Helpful", value: helpful, drill: drillOf(report.kb_helpful), itemStyle: { color: "#10b981" } },
        { name: report.kb_not_helpful.label || "Not helpful", value: unhelpful, drill: drillOf(report.kb_not_helpful), itemStyle: { color: "#ef4444" } }
      ] }]
  });
}

function unansweredTable(report) {
  return R.figureTable([
    { label: "Question the bot could not answer", value: function (q) { return q.query; } },
    { label: "Times", num: true, value: function (q) { return cell(q.figure); } }
  ], report.top_unanswered, "Every question found an answer.");
}

R.RENDERERS.bot = function (get) {
  return withPrevious(get, API + "/bot").then(function (both) {
    var report = both[0], before = both[1] || {};
    R.rememberIntents(report.top_intents.map(function (f) { return f.value; }));
    return function (body) {
      pendingNote(report.meta, amount(before.episodes) > 0);
      body.appendChild(kpis([
        kpiFigure(report.episodes, "Bot episodes", null, before.episodes),
        kpiFigure(report.containment_rate, "Containment", R.formatCount(amount(report.contained)) + " resolved by the bot alone", before.containment_rate, "up"),
        kpiFigure(report.handoff_rate, "Hand-off rate", R.formatCount(amount(report.handed_off)) + " handed to a person", before.handoff_rate, "down"),
        kpiFigure(report.clarify_rate, "Clarify rate", null, before.clarify_rate, "down"),
        kpiFigure(report.kb_helpful_rate, "Articles helpful", R.formatCount(amount(report.kb_helpful)) + " of " + R.formatCount((amount(report.kb_helpful) || 0) + (amount(report.kb_not_helpful) || 0)) + " ratings", before.kb_helpful_rate, "up"),
        kpiFigure(report.unanswered, "Unanswered questions", null, before.unanswered, "down")
      ]));
      body.appendChild(grid([
        later(R.card("Episode outcomes", "each episode has exactly one", "third"), function (b) { outcomeChart(b, report); }),
        later(R.card("Hand-offs by reason", null, "two-thirds"), function (b) {
          R.barChart(b, "bot-handoff-reasons", barsOf(report.handoff_by_reason, function (f) { return humanize(f.label); }, PALETTE[0]));
        }),
        later(R.card("Top intents", "episodes by the intent the bot detected", "two-thirds"), function (b) {
          R.barChart(b, "bot-top-intents", barsOf(report.top_intents, function (f) { return humanize(f.label); }, PALETTE[3]));
        }),
        later(R.card("Knowledge-base answers", "customers' ratings", "third"), function (b) { kbChart(b, report); }),
        (function () { var b = R.card("Top unanswered questions", "clarified or handed off for lack of an answer", "wide"); b.appendChild(unansweredTable(report)); return b; })()
      ]));
      drawAll(body);
    };
  });
};

/* ---------- teams and agents ---------- */

/* A team's name opens the agents page filtered to that team. */
function teamLink(row) {
  if (row.id === null || row.id === undefined || row.total) return row.name;
  var filters = Object.assign({}, R.state.filters, { team_id: String(row.id) });
  var a = el("a", null, row.name);
  a.href = "/reports/agents?" + R.queryString(filters);
  a.title = "This team's agents";
  return a;
}

function performanceColumns(nameLabel) {
  return [
    { label: nameLabel, value: function (r) { return nameLabel === "Team" ? teamLink(r) : r.name; } },
    { label: "Handled", num: true, value: function (r) { return cell(r.handled); } },
    { label: "Replies", num: true, value: function (r) { return cell(r.replies); } },
    { label: "First response", num: true, title: "Average, from the hand-off or the reopen", value: function (r) { return durationCell(r.first_response); } },
    { label: "Next response", num: true, value: function (r) { return durationCell(r.next_response); } },
    { label: "Resolution", num: true, value: function (r) { return durationCell(r.resolution); } },
    { label: "Handle time", num: true, value: function (r) { return durationCell(r.handle_time); } },
    { label: "SLA compliance", num: true, value: function (r) { return pctCell(r.sla_compliance); } },
    { label: "Reopened", num: true, value: function (r) { return cell(r.reopen_rate); } },
    { label: "FCR", num: true, title: "First-contact resolution", value: function (r) { return cell(r.fcr_rate); } },
    { label: "CSAT", num: true, value: function (r) { return cell(r.csat.average); } },
    { label: "Responses", num: true, title: "CSAT response rate", value: function (r) { return cell(r.csat.response_rate); } }
  ];
}

function durationBars(box, name, rows, pick, color) {
  var items = rows.filter(function (r) { var d = pick(r); return d && d.average_seconds !== null && d.average_seconds !== undefined; })
    .map(function (r) { var d = pick(r); return { label: r.name, value: Math.round(d.average_seconds), drill: durationDrill(d), color: color }; })
    .sort(function (a, b) { return a.value - b.value; });  // fastest first
  R.barChart(box, name, items, function (v) { return formatDuration(v); });
}

function figureBars(box, name, rows, pick, color, format) {
  var items = rows.filter(function (r) { return amount(pick(r)) !== null; })
    .map(function (r) { var f = pick(r); return { label: r.name, value: amount(f), drill: drillOf(f), color: color }; })
    .sort(function (a, b) { return b.value - a.value; });
  R.barChart(box, name, items, format || function (v) { return formatFigure({ amount: v, unit: pick(rows[0]).unit }); });
}

function csatChart(box, csat) {
  var dist = csat.distribution || [];
  if (!dist.some(function (f) { return amount(f); })) { box.appendChild(R.emptyNote("No ratings in this period.")); return; }
  var colors = ["#ef4444", "#f97316", "#f59e0b", "#84cc16", "#10b981"];
  var axis = R.axisStyle();
  R.chart(box, {
    __name: "csat-distribution",
    tooltip: { trigger: "item", confine: true },
    grid: { left: 8, right: 8, top: 24, bottom: 4, containLabel: true },
    xAxis: Object.assign({}, axis, { type: "category", data: dist.map(function (f) { return f.value ? String(f.value).split(":").pop() + " ★" : f.label; }) }),
    yAxis: Object.assign({}, axis, { type: "value", minInterval: 1, axisLine: { show: false } }),
    series: [{ type: "bar", name: "Ratings", barMaxWidth: 40,
      label: { show: true, position: "top", color: "#374151" },
      data: dist.map(function (f, n) { return { value: amount(f) || 0, drill: drillOf(f), itemStyle: { color: colors[n % 5], borderRadius: [4, 4, 0, 0] } }; }) }]
  }, "short");
}

function tableCard(title, hint, columns, rows, emptyText) {
  var b = R.card(title, hint, "wide");
  b.appendChild(R.figureTable(columns, rows, emptyText));
  return b;
}

R.RENDERERS.teams = function (get) {
  return withPrevious(get, API + "/teams").then(function (both) {
    var report = both[0], previous = both[1] && both[1].total, p = previous || { csat: {} };
    report.teams.forEach(function (r) { if (r.id !== null) R.rememberTeam(r.id, r.name); });
    return function (body) {
      pendingNote(report.meta, previous && amount(previous.handled) > 0);
      var t = report.total;
      body.appendChild(kpis([
        kpiFigure(t.handled, "Handled", null, p.handled),
        kpiDuration(t.first_response, "First response", p.first_response),
        kpiDuration(t.resolution, "Resolution", p.resolution),
        kpiFigure(t.sla_compliance, "SLA compliance", R.formatCount(amount(t.sla_breached)) + " breached of " + R.formatCount(amount(t.sla_measured)), p.sla_compliance, "up"),
        kpiFigure(t.reopen_rate, "Reopen rate", null, p.reopen_rate, "down"),
        kpiFigure(t.fcr_rate, "First-contact resolution", null, p.fcr_rate, "up"),
        kpiFigure(t.csat.average, "CSAT", R.formatCount(amount(t.csat.responses)) + " ratings · " + formatFigure(t.csat.response_rate) + " responded", p.csat.average, "up")
      ]));
      var rows = report.teams;
      body.appendChild(grid([
        tableCard("Teams", "averages; click a number for its conversations", performanceColumns("Team"), rows.concat([Object.assign({}, t, { name: "All teams", total: true })]), "No team handled a conversation in this period."),
        later(R.card("First response by team", "average, from the hand-off"), function (b) { durationBars(b, "teams-first-response", rows, function (r) { return r.first_response; }, PALETTE[0]); }),
        later(R.card("SLA compliance by team", null), function (b) { figureBars(b, "teams-sla", rows, function (r) { return r.sla_compliance; }, PALETTE[1]); }),
        later(R.card("Resolution by team", "average"), function (b) { durationBars(b, "teams-resolution", rows, function (r) { return r.resolution; }, PALETTE[3]); }),
        later(R.card("CSAT distribution", "all teams, scores 1–5"), function (b) { csatChart(b, t.csat); })
      ]));
      drawAll(body);
    };
  });
};

R.RENDERERS.agents = function (get) {
  return get(API + "/agents").then(function (report) {
    report.agents.forEach(function (r) { if (r.id !== null) R.rememberAgent(r.id, r.name); });
    return function (body) {
      pendingNote(report.meta);
      var rows = report.agents;
      var own = R.state.me.permissions.indexOf("reports.read") < 0;  // an agent: their own row
      if (own || rows.length < 2) {
        body.appendChild(grid([tableCard("Agents", own ? "your own figures" : "averages; click a number for its conversations",
          performanceColumns("Agent"), rows, "No conversation handled in this period.")]));
        return;
      }
      body.appendChild(grid([
        tableCard("Agents", "averages; click a number for its conversations", performanceColumns("Agent"), rows, "No agent handled a conversation in this period."),
        later(R.card("Conversations handled", null), function (b) { figureBars(b, "agents-handled", rows, function (r) { return r.handled; }, PALETTE[0]); }),
        later(R.card("First response", "average, from the hand-off"), function (b) { durationBars(b, "agents-first-response", rows, function (r) { return r.first_response; }, PALETTE[1]); }),
        later(R.card("CSAT", "average rating, 1–5"), function (b) { figureBars(b, "agents-csat", rows, function (r) { return r.csat.average; }, PALETTE[2]); }),
        later(R.card("SLA compliance", null), function (b) { figureBars(b, "agents-sla", rows, function (r) { return r.sla_compliance; }, PALETTE[3]); })
      ]));
      drawAll(body);
    };
  });
};

/* ---------- summary e-mails (the scheduled reports API) ---------- */

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

function hourText(h) { return String(h).padStart(2, "0") + ":00"; }

function subscriptionText(sub) {
  var when = sub.frequency === "weekly" ? "Every " + DAYS[sub.weekday] : "Every day";
  var team = sub.team_id === null ? "all teams I can see" : (R.state.directory.teams[sub.team_id] || "team " + sub.team_id);
  return when + " at " + hourText(sub.send_hour) + " (" + sub.timezone + "), " + team;
}

function loadSubscriptions() {
  var box = $("subscriptions");
  return api("GET", API + "/subscriptions").then(function (list) {
    box.textContent = "";
    if (!list.items.length) { box.appendChild(el("p", "hint", "You have no summary e-mails yet.")); return; }
    list.items.forEach(function (sub) {
      var row = el("div", "subscription");
      row.setAttribute("data-subscription-id", sub.id);
      var text = el("div");
      text.appendChild(el("b", null, subscriptionText(sub)));
      text.appendChild(el("small", null, sub.last_sent_at ? "Last sent " + R.formatDate(sub.last_sent_at) : "Not sent yet"));
      var remove = el("button", "secondary", "Unsubscribe"); remove.type = "button";
      remove.addEventListener("click", function () {
        remove.disabled = true;
        api("DELETE", API + "/subscriptions/" + sub.id).then(loadSubscriptions, function (err) {
          remove.disabled = false; toast(err.message);
        });
      });
      row.appendChild(text); row.appendChild(remove);
      box.appendChild(row);
    });
  }).catch(function (err) { $("sub-error").textContent = err.message; });
}

function bindSubscriptions() {
  var open = $("subscribe-open"), dialog = $("subscribe-dialog");
  if (!open || !dialog) return;
  open.hidden = false;
  var hour = $("sub-hour");
  for (var h = 0; h < 24; h++) { var o = el("option", null, hourText(h)); o.value = String(h); hour.appendChild(o); }
  hour.value = "7";
  $("sub-frequency").addEventListener("change", function () {
    $("sub-weekday-row").hidden = $("sub-frequency").value !== "weekly";
  });
  open.addEventListener("click", function () {
    var team = $("sub-team");
    team.textContent = "";
    var all = el("option", null, "All teams I can see"); all.value = ""; team.appendChild(all);
    Object.keys(R.state.directory.teams).forEach(function (id) {
      var o = el("option", null, R.state.directory.teams[id]); o.value = id; team.appendChild(o);
    });
    team.value = R.state.filters.team_id || "";
    $("sub-tz").value = R.state.filters.tz;
    $("sub-error").textContent = "";
    loadSubscriptions();
    dialog.showModal();
  });
  dialog.querySelector("[data-close]").addEventListener("click", function () { dialog.close(); });
  $("subscribe-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { frequency: $("sub-frequency").value, send_hour: Number(hour.value),
      weekday: Number($("sub-weekday").value), timezone: $("sub-tz").value,
      team_id: $("sub-team").value ? Number($("sub-team").value) : null };
    $("sub-submit").disabled = true;
    api("POST", API + "/subscriptions", body).then(function () {
      $("sub-submit").disabled = false;
      $("sub-error").textContent = "";
      toast("Subscribed: " + subscriptionText(Object.assign({}, body)), "info");
      loadSubscriptions();
    }, function (err) {
      $("sub-submit").disabled = false;
      $("sub-error").textContent = err.message;
    });
  });
}

startWithLogin(function (me) {
  R.start(me);
  if (me.permissions.indexOf("reports.read") >= 0) bindSubscriptions();
});
