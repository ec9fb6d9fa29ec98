/* The reports' filters and figures, apart from the DOM so tests/frontend can check them: the
 * filter bar <-> URL query, the drill-down and transcript links, the previous period the
 * tiles compare with, and the tiles' change against it. */

export const FILTERS = ["start", "end", "tz", "team_id", "agent_id", "channel", "intent", "priority",
  "business_hours"];
const DAY_MS = 86400000;
const REPORT_OF_METRIC = { volume: "/reports", bot: "/reports/bot", team: "/reports/teams", teams: "/reports/teams", agent: "/reports/agents", agents: "/reports/agents" };

export function pad(n) { return String(n).padStart(2, "0"); }
export function isoDate(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
/* The local date `n` days before `now`. */
export function daysAgo(n, now = new Date()) { const d = new Date(now.getTime()); d.setDate(d.getDate() - n); return isoDate(d); }

/* The filters in a URL's query: the last 30 days in the browser's zone unless it says. */
export function parseFilters(search, { now = new Date(), zone = "UTC" } = {}) {
  const query = new URLSearchParams(search), f = {};
  FILTERS.forEach((key) => { const v = query.get(key); if (v) f[key] = v; });
  if (!f.end) f.end = daysAgo(0, now);
  if (!f.start) f.start = daysAgo(29, now);
  if (!f.tz) f.tz = zone;
  return f;
}

/* The query string for the API and for links: the filters (in a fixed order, business
 * hours only when on), then the extras; empty values are left out. */
export function queryString(filters, extra) {
  const q = new URLSearchParams();
  FILTERS.forEach((key) => {
    const v = filters[key];
    if (v === undefined || v === null || v === "" || (key === "business_hours" && v !== "true")) return;
    q.set(key, v);
  });
  Object.keys(extra || {}).forEach((key) => {
    const v = extra[key];
    if (v !== undefined && v !== null && v !== "") q.set(key, v);
  });
  return q.toString();
}

/* The page's own extras that are not filters: the drill-down's metric and value (the
 * transcript keeps them too, for its way back to the list). */
export function pageExtras(page, search) {
  if (page !== "conversations" && page !== "transcript") return {};
  const q = new URLSearchParams(search);
  return { metric: q.get("metric"), value: q.get("value") };
}

/* The list behind a figure ({metric, value}) with the same filters, or null. */
export function drillUrl(filters, drill) {
  if (!drill || !drill.metric) return null;
  const extra = { metric: drill.metric };
  if (drill.value !== undefined && drill.value !== null) extra.value = String(drill.value);
  return "/reports/conversations?" + queryString(filters, extra);
}

export function transcriptUrl(filters, conversationId, extras) {
  return "/reports/conversations/" + encodeURIComponent(conversationId) + "?" + queryString(filters, extras);
}

/* The report a metric key belongs to ("bot.handed_off" -> /reports/bot), for the way back
 * from its list: the same query without the list's own keys. */
export function reportOf(metric, search) {
  const path = REPORT_OF_METRIC[String(metric || "").split(".")[0]] || "/reports";
  const q = new URLSearchParams(search);
  q.delete("metric"); q.delete("value"); q.delete("cursor");
  return path + "?" + q.toString();
}

/* Whether the period is the quick range "last `days` days". */
export function isPreset(filters, days, now = new Date()) {
  return filters.end === daysAgo(0, now) && filters.start === daysAgo(days - 1, now);
}

/* The period of the same length just before the current one (for the tiles' changes). */
export function previousPeriod(filters) {
  const start = Date.parse(filters.start + "T00:00:00Z"), end = Date.parse(filters.end + "T00:00:00Z");
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) return null;
  const length = Math.round((end - start) / DAY_MS) + 1;
  const utc = (ms) => { const d = new Date(ms); return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); };
  return { start: utc(start - length * DAY_MS), end: utc(start - DAY_MS), days: length };
}

/* ---------- figures ---------- */

export function isNum(v) { return typeof v === "number" && Number.isFinite(v); }
export function amount(figure) { return figure && typeof figure.amount === "number" ? figure.amount : null; }

/* A figure's drill-down key, when there are conversations behind it. */
export function drillOf(figure) {
  if (!figure || !figure.metric || !figure.conversations) return null;
  return { metric: figure.metric, value: figure.value };
}

/* The change against the previous period: relative for counts and durations, in
 * percentage points for rates. `better` says which way is good ("up", "down"; none: volume).
 * {text, tone: "good" | "bad" | "neutral"}, or null when there is nothing to compare. */
export function change(current, previous, unit, better) {
  if (current === null || previous === null || previous === undefined) return null;
  const diff = current - previous;
  let text;
  if (unit === "percent") {
    if (Math.abs(diff) < 0.05) text = "± 0 pts";
    else text = (diff > 0 ? "▲ " : "▼ ") + Math.abs(diff).toFixed(1) + " pts";
  } else {
    if (!previous) return null;
    const relative = 100 * diff / previous;
    if (Math.abs(relative) < 0.5) text = "± 0 %";
    else text = (diff > 0 ? "▲ " : "▼ ") + Math.abs(relative).toFixed(0) + " %";
  }
  let tone = "neutral";
  if (better && Math.abs(diff) > 1e-9 && text.charAt(0) !== "±") tone = (diff > 0) === (better === "up") ? "good" : "bad";
  return { text, tone };
}

export function channelLabel(c) {
  return { widget: "Web widget", rest: "API", email: "E-mail" }[c] || (c ? String(c).replace(/_/g, " ") : "");
}
