/* The ML pages' decisions and numbers, apart from the DOM so tests/frontend can check them:
 * percentages and signed deltas, the annotation page's filter query, keys and targets, the
 * progress counts, and the model comparison's tables and chart scale. */

export const CANDIDATE_PAGE = 50;
export const STATUSES = ["pending", "accepted", "rejected", "out_of_scope"];

export function can(me, permission) { return !!me && (me.permissions || []).indexOf(permission) >= 0; }

export function pct(value) {
  return value === null || value === undefined ? "–" : (100 * value).toFixed(1) + "%";
}

/* A change in percentage points: {text, tone} with tone "up", "down" or "". */
export function signedPoints(delta) {
  if (delta === null || delta === undefined) return { text: "–", tone: "" };
  const points = 100 * delta;
  return { text: (points > 0 ? "+" : "") + points.toFixed(1), tone: points > 0.05 ? "up" : points < -0.05 ? "down" : "" };
}

/* ---------- annotation ---------- */

/* The candidates query from the filter form's values (empty values are left out; days
 * become the whole UTC day). */
export function candidateQuery(values, offset, limit = CANDIDATE_PAGE) {
  const params = new URLSearchParams();
  ["status", "source", "intent", "band", "channel", "order"].forEach((name) => {
    if (values[name]) params.set(name, values[name]);
  });
  if (values.date_from) params.set("date_from", values.date_from + "T00:00:00Z");
  if (values.date_to) params.set("date_to", values.date_to + "T23:59:59Z");
  params.set("limit", String(limit));
  params.set("offset", String(offset));
  return params.toString();
}

/* The annotation page's keys (outside text boxes and dialogs): what a key stands for, or
 * null. Decisions apply to the selection, else to the highlighted row. */
export function annotationKey(key) {
  switch (key) {
    case "j": case "ArrowDown": return { move: 1 };
    case "k": case "ArrowUp": return { move: -1 };
    case " ": return { toggle: true };
    case "a": return { act: "accept" };
    case "r": return { act: "relabel" };
    case "x": return { act: "reject" };
    case "o": return { act: "out_of_scope" };
    case "n": return { act: "create_intent" };
    case "t": return { act: "article" };
    default: return null;
  }
}

/* The highlighted row after moving `step` rows (kept inside the list). */
export function moveIndex(current, step, length) {
  if (!length) return 0;
  return Math.max(0, Math.min(length - 1, current + step));
}

export function selectedIds(selected) {
  return Object.keys(selected).filter((k) => selected[k]).map(Number);
}

/* The rows an action applies to: the selection, else the highlighted row. */
export function actionTargets(selected, items, current) {
  const ids = selectedIds(selected);
  if (ids.length) return ids;
  const c = items[current];
  return c ? [c.id] : [];
}

/* Decided rows stay in view with their new status; the highlight moves on after a single
 * decision. */
export function applyUpdates(items, current, updated, advance) {
  const byId = {};
  updated.forEach((c) => { byId[c.id] = c; });
  return {
    items: items.map((c) => byId[c.id] || c),
    current: advance ? Math.min(items.length - 1, current + 1) : current
  };
}

/* The request for a decision: one candidate's own route, or the bulk route. */
export const SINGLE_ROUTES = { accept: "accept", reject: "reject", out_of_scope: "out-of-scope" };

export function decisionRequest(base, action, ids, intent) {
  if (ids.length === 1 && action !== "relabel") {
    return { path: base + "/candidates/" + ids[0] + "/" + SINGLE_ROUTES[action], body: undefined, bulk: false };
  }
  if (ids.length === 1) return { path: base + "/candidates/" + ids[0] + "/relabel", body: { intent }, bulk: false };
  const body = { action, candidate_ids: ids };
  if (intent) body.intent = intent;
  return { path: base + "/candidates/bulk", body, bulk: true };
}

/* Counts and the share decided, from the progress report's totals. */
export function progressView(total) {
  const all = STATUSES.reduce((s, k) => s + (total[k] || 0), 0);
  const done = all ? (all - total.pending) / all : 0;
  return {
    all, done,
    width: (100 * done).toFixed(1) + "%",
    share: all ? Math.round(100 * done) + "% of " + all + " decided" : "no candidates yet"
  };
}

export function selectionText(n) {
  return n ? n + " selected: a / r / x / o apply to all of them."
    : "Nothing selected: actions apply to the highlighted row.";
}

/* ---------- models ---------- */

export function liveVersion(versions) { return versions.filter((v) => v.status === "live")[0] || null; }

/* The registry offers a rollback to an earlier candidate or retired version while another
 * is live, to those who may promote; the server checks it again. */
export function rollbackOffered(version, live, mayPromote) {
  return !!live && mayPromote && version.version < live.version
    && (version.status === "retired" || version.status === "candidate");
}

/* The stored comparison can be shown as it is while it was made against today's live. */
export function storedComparison(version, live, fresh) {
  const stored = version && (version.metrics || {}).comparison;
  if (!stored || fresh || !live || stored.against_version !== live.version) return null;
  return stored;
}

/* Per-intent F1 rows that changed, biggest change first, at most `limit`. */
export function f1Changes(rows, limit = 12) {
  return (rows || []).filter((r) => Math.abs(r.delta) >= 0.0001)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta)).slice(0, limit);
}

/* The risk axis' top: the highest risk or the target plus a margin, in steps of 5 points,
 * at least 5 %, at most 100 %. */
export function riskScale(curves, target) {
  let maxRisk = 0;
  ["candidate", "live"].forEach((k) => {
    (curves[k] || []).forEach((p) => { maxRisk = Math.max(maxRisk, p.wrong_answer_rate); });
  });
  return Math.max(0.05, Math.min(1, Math.ceil((Math.max(maxRisk, target) + 0.01) * 20) / 20));
}
