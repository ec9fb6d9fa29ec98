/* Dataset snapshots: freeze the accepted candidates into an immutable, hashed training set;
 * list them with counts per intent and per source; export as Rasa NLU YAML or CSV. */
import { api } from "/console/static/api.js";
import { $, el, fill, row, toast } from "/console/static/common.js";
import { formatTime, humanize } from "/console/static/format.js";
import { startPage, stamp } from "./ml_common.js";
import { can } from "./ml_state.js";

const BASE = "/api/v1/training/snapshots";
const state = { snapshots: [], current: null };

startPage("training.read", function (me) {
  if (!can(me, "training.annotate")) $("snapshot-form").hidden = true;
  $("snapshot-form").addEventListener("submit", create);
  load();
});

function load() {
  return api("GET", BASE).then(function (list) {
    state.snapshots = list;
    render();
    stamp();
    if (list.length && state.current === null) show(list[0].id);
  }).catch(function (err) { toast(err.message); });
}

function create(e) {
  e.preventDefault();
  $("snapshot-error").textContent = "";
  api("POST", BASE, { name: $("snapshot-name").value.trim(),
                      include_project: $("snapshot-project").checked })
    .then(function (s) {
      $("snapshot-name").value = "";
      toast("Snapshot v" + s.version + " created: " + s.example_count + " examples", "info");
      state.current = s.id;
      return load().then(function () { show(s.id); });
    })
    .catch(function (err) { $("snapshot-error").textContent = err.message; });
}

function link(href, text) {
  var a = el("a", null, text);
  a.href = href;
  a.setAttribute("download", "");
  return a;
}

function sources(counts) {
  return Object.keys(counts || {}).sort().map(function (k) {
    return humanize(k) + " " + counts[k];
  }).join(", ");
}

function render() {
  var rows = state.snapshots.map(function (s) {
    var exports = el("span");
    exports.appendChild(link(BASE + "/" + s.id + "/export.yml", "Rasa YAML"));
    exports.appendChild(document.createTextNode(" · "));
    exports.appendChild(link(BASE + "/" + s.id + "/export.csv", "CSV"));
    var hash = el("code", "hash", s.content_hash.slice(0, 12));
    hash.title = s.content_hash;
    var tr = row(["v" + s.version, s.name, s.example_count, s.out_of_scope_count,
                    Object.keys(s.intent_counts).length, sources(s.source_counts), hash,
                    formatTime(s.created_at), exports]);
    tr.setAttribute("data-id", String(s.id));
    if (s.id === state.current) tr.classList.add("current");
    tr.addEventListener("click", function (e) { if (e.target.tagName !== "A") show(s.id); });
    return tr;
  });
  fill("snapshots", rows, "No snapshot yet: accept candidates, then create one above.", 9);
}

function show(id) {
  var s = state.snapshots.filter(function (x) { return x.id === id; })[0];
  if (!s) return;
  state.current = id;
  render();
  $("snapshot-detail").hidden = false;
  $("detail-title").textContent = "v" + s.version + " — " + s.name;
  var facts = $("detail-facts");
  facts.textContent = "";
  [s.example_count + " examples", s.out_of_scope_count + " out of scope (calibration only)",
   Object.keys(s.intent_counts).length + " intents", "created " + formatTime(s.created_at),
   "hash " + s.content_hash].forEach(function (f) { facts.appendChild(el("span", null, f)); });
  var intents = Object.keys(s.intent_counts).sort(function (a, b) {
    return s.intent_counts[b] - s.intent_counts[a] || (a < b ? -1 : 1);
  });
  var top = intents.length ? s.intent_counts[intents[0]] : 1;
  fill("intent-counts", intents.map(function (name) {
    var bar = el("span", "bar");
    bar.style.width = Math.max(2, Math.round(160 * s.intent_counts[name] / top)) + "px";
    return row([name, s.intent_counts[name], bar]);
  }), "No in-scope examples.", 3);
  fill("source-counts", Object.keys(s.source_counts).sort().map(function (k) {
    return row([humanize(k), s.source_counts[k]]);
  }), "No sources.", 2);
}
