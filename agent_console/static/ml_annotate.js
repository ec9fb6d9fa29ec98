/* The annotation page: filter candidates, decide them one by one with the keyboard or in
 * bulk, and watch the progress counts. Every decision goes through the training API; the
 * keys, targets and queries are ml_state.js. */
import { api } from "/console/static/api.js";
import { $, el, fill, row, toast } from "/console/static/common.js";
import { formatTime, humanize } from "/console/static/format.js";
import { startPage, stamp } from "./ml_common.js";
import {
  STATUSES, actionTargets, annotationKey, applyUpdates as applied, can, candidateQuery,
  decisionRequest, moveIndex, progressView, selectedIds, selectionText
} from "./ml_state.js";

const BASE = "/api/v1/training";
const state = { items: [], total: 0, current: 0, selected: {}, intents: [], me: null, target: [] };

startPage("training.read", (me) => {
  state.me = me;
  if (!can(me, "training.annotate")) {
    document.querySelectorAll("#toolbar button").forEach((b) => {
      b.disabled = true; b.title = "needs the permission 'training.annotate'";
    });
    $("collect").disabled = true;
  }
  $("filters").addEventListener("change", () => load(false));
  $("more").addEventListener("click", () => load(true));
  $("collect").addEventListener("click", collect);
  $("select-all").addEventListener("change", (e) => {
    state.selected = {};
    if (e.target.checked) state.items.forEach((c) => { state.selected[c.id] = true; });
    render();
  });
  document.querySelectorAll("#toolbar button[data-action]").forEach((button) => {
    button.addEventListener("click", () => act(button.getAttribute("data-action")));
  });
  wireDialogs();
  document.addEventListener("keydown", onKey);
  loadIntents();
  load(false);
  loadProgress();
});

// --- data ------------------------------------------------------------------------------

function filterValues() {
  const form = $("filters"), values = {};
  ["status", "source", "intent", "band", "channel", "order", "date_from", "date_to"].forEach((name) => {
    values[name] = form.elements[name].value;
  });
  return values;
}

function load(more) {
  const offset = more ? state.items.length : 0;
  return api("GET", BASE + "/candidates?" + candidateQuery(filterValues(), offset)).then((page) => {
    state.items = more ? state.items.concat(page.items) : page.items;
    state.total = page.total;
    if (!more) { state.current = 0; state.selected = {}; $("select-all").checked = false; }
    render();
    stamp();
  }).catch((err) => toast(err.message));
}

function loadProgress() {
  return api("GET", BASE + "/candidates/progress").then((p) => {
    const t = p.total, view = progressView(t);
    STATUSES.forEach((k) => { $("count-" + k).textContent = String(t[k]); });
    $("progress-fill").style.width = view.width;
    $("progress-share").textContent = view.share;
    const box = $("by-source");
    box.textContent = "";
    Object.keys(p.by_source).forEach((source) => {
      const s = p.by_source[source], n = progressView(s).all;
      if (n) box.appendChild(el("span", null, humanize(source) + ": " + s.pending + " pending of " + n));
    });
  }).catch((err) => toast(err.message));
}

function loadIntents() {
  return api("GET", BASE + "/intents").then((list) => {
    state.intents = list;
    const select = $("filter-intent"), options = $("intent-options");
    while (select.options.length > 1) select.remove(1);
    options.textContent = "";
    list.forEach((intent) => {
      select.appendChild(new Option(intent.name, intent.name));
      const o = el("option"); o.value = intent.name; options.appendChild(o);
    });
  }).catch((err) => toast(err.message));
}

function collect() {
  api("POST", BASE + "/candidates/collect").then((r) => {
    toast("Collected " + r.created + " new, merged " + r.merged, "info");
    load(false); loadProgress();
  }).catch((err) => toast(err.message));
}

// --- rendering -------------------------------------------------------------------------

function render() {
  const rows = state.items.map((c, i) => {
    const box = el("input");
    box.type = "checkbox"; box.checked = !!state.selected[c.id];
    box.setAttribute("aria-label", "select candidate " + c.id);
    const predicted = el("span");
    predicted.appendChild(document.createTextNode(c.predicted_intent || "–"));
    if (c.confidence !== null && c.confidence !== undefined) predicted.appendChild(el("small", null, c.confidence.toFixed(2)));
    const status = el("span", "badge " + c.status, humanize(c.status) + (c.label && c.status === "accepted" ? ": " + c.label : ""));
    if (c.article_id) status.title = "added to article " + c.article_id;
    const tr = row([box, c.text, c.count > 1 ? "×" + c.count : "1", humanize(c.source),
                    predicted, c.channel || "–", status, formatTime(c.last_seen_at)]);
    box.addEventListener("click", (e) => {
      e.stopPropagation(); state.selected[c.id] = box.checked; renderSelection(); markRow(tr, c);
    });
    tr.children[1].className = "text";
    tr.children[4].className = "predicted";
    tr.setAttribute("data-id", String(c.id));
    tr.setAttribute("data-status", c.status);
    tr.addEventListener("click", () => { state.current = i; highlight(); });
    markRow(tr, c);
    if (i === state.current) tr.classList.add("current");
    return tr;
  });
  fill("candidates", rows, "No candidates match these filters.", 8);
  $("shown").textContent = state.items.length + " of " + state.total + " shown";
  $("more").hidden = state.items.length >= state.total;
  renderSelection();
}

function markRow(tr, c) { tr.classList.toggle("selected", !!state.selected[c.id]); }

function renderSelection() {
  $("selection-info").textContent = selectionText(selectedIds(state.selected).length);
}

function highlight() {
  document.querySelectorAll("#candidates tbody tr[data-id]").forEach((tr, i) => {
    tr.classList.toggle("current", i === state.current);
    if (i === state.current) tr.scrollIntoView({ block: "nearest" });
  });
}

function move(step) {
  if (!state.items.length) return;
  state.current = moveIndex(state.current, step, state.items.length);
  highlight();
}

function currentItem() { return state.items[state.current] || null; }

// --- actions ---------------------------------------------------------------------------

function act(action) {
  if (!can(state.me, "training.annotate")) { toast("You can read candidates but not decide them."); return; }
  const ids = actionTargets(state.selected, state.items, state.current);
  if (!ids.length) return;
  state.target = ids;
  if (action === "relabel") return openRelabel(ids);
  if (action === "create_intent") return openIntent(ids);
  if (action === "article") {
    if (ids.length > 1) { toast("Add one question to an article at a time."); return; }
    return openArticle(ids[0]);
  }
  decide(action, ids, null);
}

function decide(action, ids, intent) {
  const request = decisionRequest(BASE, action, ids, intent);
  return api("POST", request.path, request.body)
    .then((r) => applyUpdates(request.bulk ? r.updated : [r], ids.length === 1));
}

function applyUpdates(updated, advance) {
  const next = applied(state.items, state.current, updated, advance);
  state.items = next.items;
  state.current = next.current;
  state.selected = {};
  $("select-all").checked = false;
  render();
  loadProgress();
}

function failed(box) { return (err) => { $(box).textContent = err.message; }; }

function targetText(ids) {
  if (ids.length > 1) return ids.length + " selected candidates";
  const c = state.items.filter((x) => x.id === ids[0])[0];
  return c ? "“" + c.text + "”" : "";
}

function openRelabel(ids) {
  $("relabel-target").textContent = targetText(ids);
  $("relabel-error").textContent = "";
  const c = currentItem();
  $("relabel-intent").value = ids.length === 1 && c && c.label ? c.label : "";
  $("relabel-dialog").showModal();
  $("relabel-intent").focus();
}

function openIntent(ids) {
  $("intent-target").textContent = "Labels " + targetText(ids) + " with the new intent.";
  $("intent-error").textContent = "";
  $("intent-name").value = ""; $("intent-description").value = "";
  $("intent-dialog").showModal();
  $("intent-name").focus();
}

function openArticle(id) {
  const c = state.items.filter((x) => x.id === id)[0];
  $("article-target").textContent = targetText([id]);
  $("article-error").textContent = "";
  $("article-query").value = c ? c.text.slice(0, 200) : "";
  $("article-dialog").showModal();
  searchArticles();
  $("article-query").focus();
}

let searchTimer = null;
function searchArticles() {
  const q = $("article-query").value.trim(), list = $("article-results");
  if (!q) { list.textContent = ""; return; }
  api("GET", "/api/v1/kb/search?k=8&q=" + encodeURIComponent(q)).then((hits) => {
    list.textContent = "";
    if (!hits.length) list.appendChild(el("div", "empty", "No published article matches."));
    hits.forEach((hit) => {
      const b = el("button");
      b.type = "button";
      b.appendChild(el("b", null, hit.title));
      b.appendChild(el("small", null, (hit.category || "") + " · score " + hit.score.toFixed(2)));
      b.addEventListener("click", () => {
        api("POST", BASE + "/candidates/" + state.target[0] + "/article", { article_id: hit.article_id })
          .then((c) => { $("article-dialog").close(); applyUpdates([c], true); toast("Added to “" + hit.title + "”", "info"); })
          .catch(failed("article-error"));
      });
      list.appendChild(b);
    });
  }).catch(failed("article-error"));
}

function wireDialogs() {
  $("relabel-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const intent = $("relabel-intent").value.trim();
    decide("relabel", state.target, intent).then(() => { $("relabel-dialog").close(); })
      .catch(failed("relabel-error"));
  });
  $("intent-form").addEventListener("submit", (e) => {
    e.preventDefault();
    api("POST", BASE + "/intents", { name: $("intent-name").value.trim(),
      description: $("intent-description").value.trim(), candidate_ids: state.target })
      .then((r) => {
        $("intent-dialog").close();
        toast("Intent “" + r.intent.name + "” created", "info");
        loadIntents();
        applyUpdates(r.labelled, state.target.length === 1);
      }).catch(failed("intent-error"));
  });
  $("article-query").addEventListener("input", () => {
    clearTimeout(searchTimer); searchTimer = setTimeout(searchArticles, 250);
  });
  $("relabel-cancel").addEventListener("click", () => $("relabel-dialog").close());
  $("intent-cancel").addEventListener("click", () => $("intent-dialog").close());
  $("article-cancel").addEventListener("click", () => $("article-dialog").close());
  $("help-overlay").addEventListener("click", () => { $("help-overlay").hidden = true; });
}

function dialogOpen() { return !!document.querySelector("dialog[open]"); }

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const tag = (e.target && e.target.tagName) || "";
  if (dialogOpen() || /INPUT|SELECT|TEXTAREA/.test(tag)) return;
  const key = e.key;
  if (key === "?") { $("help-overlay").hidden = !$("help-overlay").hidden; e.preventDefault(); return; }
  if (key === "Escape") { $("help-overlay").hidden = true; return; }
  if (!$("help-overlay").hidden) return;
  const command = annotationKey(key);
  if (!command) return;
  e.preventDefault();
  if (command.move) move(command.move);
  else if (command.toggle) {
    const c = currentItem();
    if (c) { state.selected[c.id] = !state.selected[c.id]; render(); }
  } else act(command.act);
}

// Errors of quick keyboard actions surface as toasts.
window.addEventListener("unhandledrejection", (e) => {
  if (e.reason && e.reason.message) toast(e.reason.message);
});
