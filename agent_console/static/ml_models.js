/* The model registry: train a candidate from a snapshot (live progress and log), compare it
 * with the live model on the frozen held-out set (metrics, per-intent F1, confusions, the
 * risk-coverage picture), promote it through the guard (or force it with a written reason),
 * and roll back to any earlier version. A refused promotion's ApiError keeps the guard's
 * verdict in err.details.guard. */
import { api } from "/console/static/api.js";
import { $, el, fill, row, toast } from "/console/static/common.js";
import { formatTime, humanize } from "/console/static/format.js";
import { deltaCell, startPage, stamp } from "./ml_common.js";
import { can, f1Changes, liveVersion, pct, riskScale, rollbackOffered, storedComparison } from "./ml_state.js";

const MODELS = "/api/v1/models";
const SNAPSHOTS = "/api/v1/training/snapshots";
const POLL_MS = 1500;
const state = { me: null, versions: [], compared: null, comparison: null, stream: null,
              watching: null };

const PATHS = {
  list: function () { return MODELS; },
  one: function (v) { return MODELS + "/" + v; },
  stream: function (v) { return MODELS + "/" + v + "/log/stream"; },
  log: function (v) { return MODELS + "/" + v + "/log"; },
  train: function () { return MODELS; },
  cancel: function (v) { return MODELS + "/" + v + "/cancel"; },
  evaluate: function (v) { return MODELS + "/" + v + "/evaluate"; },
  promote: function (v) { return MODELS + "/" + v + "/promote"; },
  rollback: function (v) { return MODELS + "/" + v + "/rollback"; },
  picture: function (v) { return MODELS + "/" + v + "/risk-coverage.png"; }
};

startPage("training.read", function (me) {
  state.me = me;
  if (!can(me, "models.train")) $("train-form").hidden = true;
  $("train-form").addEventListener("submit", train);
  $("training-cancel").addEventListener("click", cancel);
  $("promote").addEventListener("click", function () { promote(null); });
  $("reevaluate").addEventListener("click", function () {
    if (state.compared !== null) showComparison(state.compared, true);
  });
  $("force").addEventListener("click", function () { promote($("force-reason").value); });
  loadSnapshots();
  load();
});

function load() {
  return api("GET", PATHS.list()).then(function (list) {
    state.versions = list.versions;
    render();
    stamp();
    if (list.running_version !== null && state.watching !== list.running_version) watch(list.running_version);
  }).catch(function (err) { toast(err.message); });
}

function loadSnapshots() {
  return api("GET", SNAPSHOTS).then(function (list) {
    var select = $("train-snapshot");
    select.textContent = "";
    if (!list.length) select.appendChild(new Option("no snapshot yet (see Datasets)", ""));
    list.forEach(function (s) {
      select.appendChild(new Option("v" + s.version + " — " + s.name + " (" + s.example_count + " examples)", String(s.id)));
    });
  }).catch(function (err) { toast(err.message); });
}

// --- training --------------------------------------------------------------------------

function train(e) {
  e.preventDefault();
  $("train-error").textContent = "";
  var id = Number($("train-snapshot").value);
  if (!id) { $("train-error").textContent = "Choose a snapshot first."; return; }
  api("POST", PATHS.train(), { snapshot_id: id, skip_rasa: $("train-skip-rasa").checked })
    .then(function (v) { toast("Training version " + v.version + " queued", "info"); load(); watch(v.version); })
    .catch(function (err) { $("train-error").textContent = err.message; });
}

function cancel() {
  if (state.watching === null) return;
  api("POST", PATHS.cancel(state.watching)).then(function () { toast("Cancelling…", "info"); })
    .catch(function (err) { toast(err.message); });
}

/* Follow a training: the log stream (server-sent events) brings new log lines, the
 * progress and the status until the training ends. */
function watch(version) {
  state.watching = version;
  if (state.stream) state.stream.close();
  $("training-idle").hidden = true;
  $("training-live").hidden = false;
  $("training-log").hidden = false;
  $("training-log").textContent = "";
  $("training-title").textContent = "v" + version;
  $("training-cancel").hidden = !can(state.me, "models.train");
  var stream = new EventSource(PATHS.stream(version));
  state.stream = stream;
  stream.onmessage = function (e) {
    var data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    var box = $("training-log"), atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    if (data.log) box.appendChild(document.createTextNode(data.log));
    if (atEnd) box.scrollTop = box.scrollHeight;
    $("training-fill").style.width = (100 * (data.progress || 0)).toFixed(1) + "%";
    $("training-status").textContent = humanize(data.status) + " · " + Math.round(100 * (data.progress || 0)) + "%";
    $("training-live").setAttribute("data-status", data.status);
    if (data.status !== "training") finished(version, data.status);
  };
  stream.addEventListener("end", function () { stream.close(); });
  stream.onerror = function () {
    stream.close();
    // The stream dropped (api restart): read the status once and resume if still running.
    api("GET", PATHS.one(version)).then(function (v) {
      if (v.status === "training") setTimeout(function () { watch(version); }, POLL_MS);
      else finished(version, v.status);
    }).catch(function (err) { toast(err.message); });
  };
}

function finished(version, status) {
  if (state.stream) { state.stream.close(); state.stream = null; }
  if (state.watching !== version) return;
  state.watching = null;
  $("training-cancel").hidden = true;
  load().then(function () { if (status === "candidate") showComparison(version); });
}

// --- the registry table ----------------------------------------------------------------

function summaryOf(v) {
  var c = (v.metrics || {}).comparison;
  return c ? c.candidate : null;
}

function render() {
  var live = liveVersion(state.versions);
  var rows = state.versions.map(function (v) {
    var s = summaryOf(v) || {};
    var status = el("span");
    status.appendChild(el("span", "badge " + v.status, humanize(v.status)));
    if (v.forced) status.appendChild(el("span", "badge forced", "forced"));
    if (v.baseline) status.appendChild(el("span", "badge", "baseline"));
    var actions = el("span");
    if (v.status === "candidate") {
      actions.appendChild(button("Compare", function () { showComparison(v.version); }));
    }
    if (rollbackOffered(v, live, can(state.me, "models.promote"))) {
      actions.appendChild(button("Roll back to this", function () { rollback(v.version); }));
    }
    var tr = row(["v" + v.version + (v.name && v.name !== "v" + v.version ? " " + v.name : ""),
                    v.snapshot_id ? "#" + v.snapshot_id : "–", status,
                    pct(s.correct_automation_at_target !== undefined ? s.correct_automation_at_target : s.correct_automation),
                    pct(s.oos_recall), pct(s.wrong_answer_rate),
                    formatTime(v.finished_at || v.created_at), formatTime(v.promoted_at),
                    v.promote_reason || "", actions]);
    tr.lastChild.className = "actions";
    tr.setAttribute("data-version", String(v.version));
    if (state.compared === v.version) tr.classList.add("current");
    return tr;
  });
  fill("versions", rows, "The registry is empty.", 10);
}

function button(text, onClick) {
  var b = el("button", "secondary", text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

// --- comparison ------------------------------------------------------------------------

const METRICS = [
  ["correct_automation_at_target", "Correct automation at the target wrong-answer rate"],
  ["correct_automation", "Correct automation (calibrated thresholds)"],
  ["wrong_answer_rate", "Wrong-answer rate"],
  ["oos_auroc", "Out-of-scope recall over all thresholds (AUROC)"],
  ["oos_recall", "Out-of-scope recall (calibrated thresholds)"],
  ["in_scope_accuracy", "In-scope accuracy"],
  ["answered_share", "Answered share"],
  ["macro_f1", "Macro F1"]
];

/* The comparison stored when the candidate trained; evaluated afresh when there is none
 * or live has changed since. */
function showComparison(version, fresh) {
  state.compared = version;
  render();
  $("compare-card").hidden = false;
  var v = state.versions.filter(function (x) { return x.version === version; })[0];
  var stored = storedComparison(v, liveVersion(state.versions), fresh);
  if (stored) {
    renderComparison(version, stored, (v.metrics || {}).guard || null);
    return Promise.resolve();
  }
  $("compare-title").textContent = "Candidate v" + version + " vs live — evaluating…";
  return api("POST", PATHS.evaluate(version)).then(function (r) {
    renderComparison(version, r.comparison, r.guard);
  }).catch(function (err) { $("compare-title").textContent = "Candidate v" + version + ": " + err.message; });
}

function renderComparison(version, c, guard) {
  var held = c.held_out || {};
  $("compare-title").textContent = "Candidate v" + version + " vs live v" + c.against_version
    + " on " + (held.rows || "?") + " held-out rows (" + (held.out_of_scope || 0) + " out of scope)";
  fill("compare-summary", METRICS.filter(function (m) {
    return c.candidate[m[0]] !== undefined || c.live[m[0]] !== undefined;
  }).map(function (m) {
    return row([m[1], pct(c.candidate[m[0]]), pct(c.live[m[0]]),
                  deltaCell((c.deltas || {})[m[0]])]);
  }), "No metrics.", 4);
  renderGuard(guard);
  fill("f1-deltas", f1Changes(c.per_intent_f1).map(function (r) {
    return row([r.intent, r.candidate === null ? "–" : r.candidate.toFixed(2),
                  r.live === null ? "–" : r.live.toFixed(2), deltaCell(r.delta)]);
  }), "No per-intent change.", 4);
  var pairs = ((c.confusion_pairs || {}).candidate) || [];
  fill("confusions", pairs.map(function (p) { return row([p.true, p.predicted, p.count]); }),
    "No confusions.", 3);
  var curves = c.risk_coverage;
  if (curves && curves.candidate) {
    $("risk-png").hidden = true;
    drawRiskCoverage($("risk-chart"), curves, (c.candidate || {}).target_wrong_answer_rate || 0.1,
                     "v" + version, "v" + c.against_version);
  } else {
    $("risk-chart").textContent = "";
    var img = $("risk-png");
    img.hidden = false;
    img.onerror = function () { img.hidden = true; $("risk-chart").textContent = "No picture yet: evaluate the candidate."; };
    img.src = PATHS.picture(version) + "?t=" + Date.now();
  }
  $("promote-box").hidden = !can(state.me, "models.promote");
  $("force-box").hidden = true;
  $("promote-error").textContent = "";
}

function renderGuard(guard) {
  var box = $("guard-box");
  box.textContent = "";
  box.className = "guard";
  if (!guard) { box.appendChild(el("span", "hint", "The guard runs when you promote.")); return; }
  box.classList.add(guard.allowed ? "allowed" : "refused");
  box.appendChild(el("b", null, guard.allowed ? "Guard: the candidate is not worse than live"
    : "Guard: refused"));
  var list = el("ul");
  (guard.checks || []).forEach(function (check) {
    list.appendChild(el("li", null, humanize(check.metric) + ": candidate " + pct(check.candidate)
      + " vs live " + pct(check.live) + (check.passed ? " — ok" : " — worse") + (check.note ? " (" + check.note + ")" : "")));
  });
  (guard.reasons || []).forEach(function (r) { list.appendChild(el("li", null, r)); });
  box.appendChild(list);
  box.appendChild(el("div", "hint", "Tolerance " + pct(guard.tolerance)));
}

/* Risk (wrong-answer rate) against coverage (answered share) for both models, as SVG. */
function drawRiskCoverage(box, curves, target, candidateName, liveName) {
  var NS = "http://www.w3.org/2000/svg", W = 480, H = 300, L = 44, B = 34, R = 12, TOP = 12;
  var maxRisk = riskScale(curves, target);
  function x(v) { return L + v * (W - L - R); }
  function y(v) { return H - B - (v / maxRisk) * (H - B - TOP); }
  function node(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }
  var svg = node("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
                          "aria-label": "risk-coverage curves" });
  for (var i = 0; i <= 4; i++) {
    var cov = i / 4, risk = maxRisk * i / 4;
    svg.appendChild(node("line", { x1: x(cov), x2: x(cov), y1: y(0), y2: y(maxRisk), "class": "grid-line" }));
    svg.appendChild(node("line", { x1: x(0), x2: x(1), y1: y(risk), y2: y(risk), "class": "grid-line" }));
    svg.appendChild(node("text", { x: x(cov), y: H - B + 14, "text-anchor": "middle" }, Math.round(100 * cov) + "%"));
    svg.appendChild(node("text", { x: L - 6, y: y(risk) + 3, "text-anchor": "end" }, (100 * risk).toFixed(0) + "%"));
  }
  svg.appendChild(node("line", { x1: x(0), x2: x(1), y1: y(0), y2: y(0), "class": "axis" }));
  svg.appendChild(node("line", { x1: x(0), x2: x(0), y1: y(0), y2: y(maxRisk), "class": "axis" }));
  svg.appendChild(node("line", { x1: x(0), x2: x(1), y1: y(target), y2: y(target), "class": "target" }));
  svg.appendChild(node("text", { x: x(1), y: y(target) - 4, "text-anchor": "end" }, "target " + Math.round(100 * target) + "%"));
  svg.appendChild(node("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, "answered share (coverage)"));
  svg.appendChild(node("text", { x: 10, y: (TOP + H - B) / 2, transform: "rotate(-90 10 " + (TOP + H - B) / 2 + ")", "text-anchor": "middle" }, "wrong-answer rate"));
  [["candidate", candidateName], ["live", liveName]].forEach(function (pair, k) {
    var points = (curves[pair[0]] || []).map(function (p) { return x(p.coverage).toFixed(1) + "," + y(p.wrong_answer_rate).toFixed(1); });
    if (points.length) svg.appendChild(node("polyline", { points: points.join(" "), "class": "curve-" + pair[0] }));
    svg.appendChild(node("rect", { x: L + 10, y: TOP + 4 + 14 * k, width: 10, height: 3, "class": "curve-" + pair[0] }));
    svg.appendChild(node("text", { x: L + 26, y: TOP + 8 + 14 * k }, pair[0] + " " + pair[1]));
  });
  box.textContent = "";
  box.appendChild(svg);
}

// --- promotion and rollback ------------------------------------------------------------

function promote(reason) {
  var version = state.compared;
  if (version === null) return;
  $("promote-error").textContent = "";
  var body = reason === null ? {} : { force_reason: reason };
  api("POST", PATHS.promote(version), body).then(function (r) {
    if (r && r.guard) renderGuard(r.guard);
    toast("Version " + version + " is live" + (reason ? " (forced)" : ""), "info");
    $("force-box").hidden = true;
    load();
  }).catch(function (err) {
    $("promote-error").textContent = err.message;
    if (err.status === 409 && /guard/i.test(err.message)) {
      $("force-box").hidden = false;
      if (err.details.guard) renderGuard(err.details.guard);
    }
  });
}

function rollback(version) {
  var reason = window.prompt("Roll back to version " + version + "? Say why (kept in the audit log):", "");
  if (reason === null) return;
  api("POST", PATHS.rollback(version), { reason: reason }).then(function () {
    toast("Version " + version + " is live again", "info");
    load();
  }).catch(function (err) { toast(err.message); });
}
