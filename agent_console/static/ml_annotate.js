/* The annotation page: filter candidates, decide them one by one with the keyboard or in
 * bulk, and watch the progress counts. Every decision goes through the training API. */
(function () {
  "use strict";
  var T = window.Tandem, M = window.TandemML, $ = T.$, el = T.el, api = T.api;
  var BASE = "/api/v1/training";
  var PAGE = 50;
  var state = { items: [], total: 0, current: 0, selected: {}, intents: [], me: null,
                target: [] };

  M.startPage("training.read", function (me) {
    state.me = me;
    if (!M.can(me, "training.annotate")) {
      Array.prototype.forEach.call(document.querySelectorAll("#toolbar button"), function (b) {
        b.disabled = true; b.title = "needs the permission 'training.annotate'";
      });
      $("collect").disabled = true;
    }
    $("filters").addEventListener("change", function () { load(false); });
    $("more").addEventListener("click", function () { load(true); });
    $("collect").addEventListener("click", collect);
    $("select-all").addEventListener("change", function (e) {
      state.selected = {};
      if (e.target.checked) state.items.forEach(function (c) { state.selected[c.id] = true; });
      render();
    });
    Array.prototype.forEach.call(document.querySelectorAll("#toolbar button[data-action]"),
      function (button) {
        button.addEventListener("click", function () { act(button.getAttribute("data-action")); });
      });
    wireDialogs();
    document.addEventListener("keydown", onKey);
    loadIntents();
    load(false);
    loadProgress();
  });

  // --- data ------------------------------------------------------------------------------

  function query(offset) {
    var form = $("filters"), params = new URLSearchParams();
    ["status", "source", "intent", "band", "channel", "order"].forEach(function (name) {
      var value = form.elements[name].value;
      if (value) params.set(name, value);
    });
    if (form.elements.date_from.value) params.set("date_from", form.elements.date_from.value + "T00:00:00Z");
    if (form.elements.date_to.value) params.set("date_to", form.elements.date_to.value + "T23:59:59Z");
    params.set("limit", String(PAGE));
    params.set("offset", String(offset));
    return params.toString();
  }

  function load(more) {
    var offset = more ? state.items.length : 0;
    return api("GET", BASE + "/candidates?" + query(offset)).then(function (page) {
      state.items = more ? state.items.concat(page.items) : page.items;
      state.total = page.total;
      if (!more) { state.current = 0; state.selected = {}; $("select-all").checked = false; }
      render();
      M.stamp();
    }).catch(function (err) { T.toast(err.message); });
  }

  function loadProgress() {
    return api("GET", BASE + "/candidates/progress").then(function (p) {
      var t = p.total, all = t.pending + t.accepted + t.rejected + t.out_of_scope;
      ["pending", "accepted", "rejected", "out_of_scope"].forEach(function (k) {
        $("count-" + k).textContent = String(t[k]);
      });
      var done = all ? (all - t.pending) / all : 0;
      $("progress-fill").style.width = (100 * done).toFixed(1) + "%";
      $("progress-share").textContent = all ? Math.round(100 * done) + "% of " + all + " decided" : "no candidates yet";
      var box = $("by-source");
      box.textContent = "";
      Object.keys(p.by_source).forEach(function (source) {
        var s = p.by_source[source], n = s.pending + s.accepted + s.rejected + s.out_of_scope;
        if (n) box.appendChild(el("span", null, T.humanize(source) + ": " + s.pending + " pending of " + n));
      });
    }).catch(function (err) { T.toast(err.message); });
  }

  function loadIntents() {
    return api("GET", BASE + "/intents").then(function (list) {
      state.intents = list;
      var select = $("filter-intent"), options = $("intent-options");
      while (select.options.length > 1) select.remove(1);
      options.textContent = "";
      list.forEach(function (intent) {
        select.appendChild(new Option(intent.name, intent.name));
        var o = el("option"); o.value = intent.name; options.appendChild(o);
      });
    }).catch(function (err) { T.toast(err.message); });
  }

  function collect() {
    api("POST", BASE + "/candidates/collect").then(function (r) {
      T.toast("Collected " + r.created + " new, merged " + r.merged, "info");
      load(false); loadProgress();
    }).catch(function (err) { T.toast(err.message); });
  }

  // --- rendering -------------------------------------------------------------------------

  function selectedIds() {
    return Object.keys(state.selected).filter(function (k) { return state.selected[k]; })
      .map(Number);
  }

  function render() {
    var rows = state.items.map(function (c, i) {
      var box = el("input");
      box.type = "checkbox"; box.checked = !!state.selected[c.id];
      box.setAttribute("aria-label", "select candidate " + c.id);
      box.addEventListener("click", function (e) {
        e.stopPropagation(); state.selected[c.id] = box.checked; renderSelection(); markRow(tr, c);
      });
      var predicted = el("span");
      predicted.appendChild(document.createTextNode(c.predicted_intent || "–"));
      if (c.confidence !== null && c.confidence !== undefined) predicted.appendChild(el("small", null, c.confidence.toFixed(2)));
      var status = el("span", "badge " + c.status, T.humanize(c.status) + (c.label && c.status === "accepted" ? ": " + c.label : ""));
      if (c.article_id) status.title = "added to article " + c.article_id;
      var tr = M.row([box, c.text, c.count > 1 ? "×" + c.count : "1", T.humanize(c.source),
                      predicted, c.channel || "–", status, T.formatTime(c.last_seen_at)]);
      tr.children[1].className = "text";
      tr.children[4].className = "predicted";
      tr.setAttribute("data-id", String(c.id));
      tr.setAttribute("data-status", c.status);
      tr.addEventListener("click", function () { state.current = i; highlight(); });
      markRow(tr, c);
      if (i === state.current) tr.classList.add("current");
      return tr;
    });
    M.fill("candidates", rows, "No candidates match these filters.", 8);
    $("shown").textContent = state.items.length + " of " + state.total + " shown";
    $("more").hidden = state.items.length >= state.total;
    renderSelection();
  }

  function markRow(tr, c) { tr.classList.toggle("selected", !!state.selected[c.id]); }

  function renderSelection() {
    var n = selectedIds().length;
    $("selection-info").textContent = n ? n + " selected: a / r / x / o apply to all of them."
      : "Nothing selected: actions apply to the highlighted row.";
  }

  function highlight() {
    var rows = document.querySelectorAll("#candidates tbody tr[data-id]");
    Array.prototype.forEach.call(rows, function (tr, i) {
      tr.classList.toggle("current", i === state.current);
      if (i === state.current) tr.scrollIntoView({ block: "nearest" });
    });
  }

  function move(step) {
    if (!state.items.length) return;
    state.current = Math.max(0, Math.min(state.items.length - 1, state.current + step));
    highlight();
  }

  function currentItem() { return state.items[state.current] || null; }

  // --- actions ---------------------------------------------------------------------------

  /* The rows an action applies to: the selection, else the highlighted row. */
  function targets() {
    var ids = selectedIds();
    if (ids.length) return ids;
    var c = currentItem();
    return c ? [c.id] : [];
  }

  function act(action) {
    if (!M.can(state.me, "training.annotate")) { T.toast("You can read candidates but not decide them."); return; }
    var ids = targets();
    if (!ids.length) return;
    state.target = ids;
    if (action === "relabel") return openRelabel(ids);
    if (action === "create_intent") return openIntent(ids);
    if (action === "article") {
      if (ids.length > 1) { T.toast("Add one question to an article at a time."); return; }
      return openArticle(ids[0]);
    }
    decide(action, ids, null);
  }

  var SINGLE = { accept: "accept", reject: "reject", out_of_scope: "out-of-scope" };

  function decide(action, ids, intent) {
    var call;
    if (ids.length === 1 && action !== "relabel") {
      call = api("POST", BASE + "/candidates/" + ids[0] + "/" + SINGLE[action]).then(function (c) { return [c]; });
    } else if (ids.length === 1) {
      call = api("POST", BASE + "/candidates/" + ids[0] + "/relabel", { intent: intent }).then(function (c) { return [c]; });
    } else {
      var body = { action: action, candidate_ids: ids };
      if (intent) body.intent = intent;
      call = api("POST", BASE + "/candidates/bulk", body).then(function (r) { return r.updated; });
    }
    return call.then(function (updated) { applyUpdates(updated, ids.length === 1); });
  }

  /* Decided rows stay in view with their new status; the highlight moves on. */
  function applyUpdates(updated, advance) {
    var byId = {};
    updated.forEach(function (c) { byId[c.id] = c; });
    state.items = state.items.map(function (c) { return byId[c.id] || c; });
    state.selected = {};
    $("select-all").checked = false;
    if (advance) state.current = Math.min(state.items.length - 1, state.current + 1);
    render();
    loadProgress();
  }

  function failed(box) { return function (err) { $(box).textContent = err.message; }; }

  function targetText(ids) {
    if (ids.length > 1) return ids.length + " selected candidates";
    var c = state.items.filter(function (x) { return x.id === ids[0]; })[0];
    return c ? "“" + c.text + "”" : "";
  }

  function openRelabel(ids) {
    $("relabel-target").textContent = targetText(ids);
    $("relabel-error").textContent = "";
    var c = currentItem();
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
    var c = state.items.filter(function (x) { return x.id === id; })[0];
    $("article-target").textContent = targetText([id]);
    $("article-error").textContent = "";
    $("article-query").value = c ? c.text.slice(0, 200) : "";
    $("article-dialog").showModal();
    searchArticles();
    $("article-query").focus();
  }

  var searchTimer = null;
  function searchArticles() {
    var q = $("article-query").value.trim(), list = $("article-results");
    if (!q) { list.textContent = ""; return; }
    api("GET", "/api/v1/kb/search?k=8&q=" + encodeURIComponent(q)).then(function (hits) {
      list.textContent = "";
      if (!hits.length) list.appendChild(el("div", "empty", "No published article matches."));
      hits.forEach(function (hit) {
        var b = el("button");
        b.type = "button";
        b.appendChild(el("b", null, hit.title));
        b.appendChild(el("small", null, (hit.category || "") + " · score " + hit.score.toFixed(2)));
        b.addEventListener("click", function () {
          api("POST", BASE + "/candidates/" + state.target[0] + "/article", { article_id: hit.article_id })
            .then(function (c) { $("article-dialog").close(); applyUpdates([c], true); T.toast("Added to “" + hit.title + "”", "info"); })
            .catch(failed("article-error"));
        });
        list.appendChild(b);
      });
    }).catch(failed("article-error"));
  }

  function wireDialogs() {
    $("relabel-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var intent = $("relabel-intent").value.trim();
      decide("relabel", state.target, intent).then(function () { $("relabel-dialog").close(); })
        .catch(failed("relabel-error"));
    });
    $("intent-form").addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", BASE + "/intents", { name: $("intent-name").value.trim(),
        description: $("intent-description").value.trim(), candidate_ids: state.target })
        .then(function (r) {
          $("intent-dialog").close();
          T.toast("Intent “" + r.intent.name + "” created", "info");
          loadIntents();
          applyUpdates(r.labelled, state.target.length === 1);
        }).catch(failed("intent-error"));
    });
    $("article-query").addEventListener("input", function () {
      clearTimeout(searchTimer); searchTimer = setTimeout(searchArticles, 250);
    });
    $("relabel-cancel").addEventListener("click", function () { $("relabel-dialog").close(); });
    $("intent-cancel").addEventListener("click", function () { $("intent-dialog").close(); });
    $("article-cancel").addEventListener("click", function () { $("article-dialog").close(); });
    $("help-overlay").addEventListener("click", function () { $("help-overlay").hidden = true; });
  }

  function dialogOpen() { return !!document.querySelector("dialog[open]"); }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var tag = (e.target && e.target.tagName) || "";
    if (dialogOpen() || /INPUT|SELECT|TEXTAREA/.test(tag)) return;
    var key = e.key;
    if (key === "?") { $("help-overlay").hidden = !$("help-overlay").hidden; e.preventDefault(); return; }
    if (key === "Escape") { $("help-overlay").hidden = true; return; }
    if (!$("help-overlay").hidden) return;
    var handled = true;
    if (key === "j" || key === "ArrowDown") move(1);
    else if (key === "k" || key === "ArrowUp") move(-1);
    else if (key === " ") {
      var c = currentItem();
      if (c) { state.selected[c.id] = !state.selected[c.id]; render(); }
    }
    else if (key === "a") act("accept");
    else if (key === "r") act("relabel");
    else if (key === "x") act("reject");
    else if (key === "o") act("out_of_scope");
    else if (key === "n") act("create_intent");
    else if (key === "t") act("article");
    else handled = false;
    if (handled) e.preventDefault();
  }

  // Errors of quick keyboard actions surface as toasts.
  window.addEventListener("unhandledrejection", function (e) {
    if (e.reason && e.reason.message) T.toast(e.reason.message);
  });
})();
