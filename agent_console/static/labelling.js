/* The learning loop in the agent console: the optional label after Solve, and "turn this
 * reply into an article draft" on an agent's message. console.js calls
 * TandemLabelling.offer(ticket) once a solve succeeded and TandemLabelling.draftButton(...)
 * per agent message. The label step never blocks anything: the ticket is solved already and
 * Esc skips. Keys in the panel: Enter saves, O = out of scope (saves), Up/Down pick the
 * intent, typing filters the intents, Tab reaches the article picker, Esc skips. */
(function () {
  "use strict";
  var T = window.Tandem, $ = T.$, el = T.el, api = T.api;
  var AGENT = "/api/v1/agent";
  // Tickets that were never with the bot have nothing to teach it.
  var NEVER_WITH_BOT = ["agent_opened", "email"];
  var MAX_SHOWN = 8;
  var panel = { ticketId: null, intents: [], shown: [], index: 0, form: null };
  var drafted = {};  // message id -> article id, so a re-rendered transcript remembers

  function dialog() { return $("label-dialog"); }

  function offer(ticket) {
    if (!ticket || NEVER_WITH_BOT.indexOf(ticket.reason) >= 0) return Promise.resolve(null);
    return api("GET", AGENT + "/tickets/" + ticket.id + "/label").then(function (form) {
      if (form.label) return null;  // labelled already (another agent, or before a reopen)
      open(form);
      return form;
    }).catch(function () { return null; });  // the label is optional: no error for the agent
  }

  function open(form) {
    panel.ticketId = form.ticket_id; panel.intents = form.intents; panel.form = form;
    $("label-text").textContent = form.text || "(no customer message)";
    var guess = form.predicted_intent;
    $("label-guess").textContent = guess
      ? "Bot's guess: " + guess + (form.predicted_confidence != null ? " (" + Math.round(form.predicted_confidence * 100) + "%)" : "")
      : "The bot had no guess.";
    $("label-filter").value = "";
    $("label-error").textContent = "";
    var picker = $("label-article");
    picker.textContent = "";
    var none = el("option", null, "None"); none.value = ""; picker.appendChild(none);
    form.articles.forEach(function (a) {
      var option = el("option", null, a.title + (a.offered_by_bot ? " (the bot's answer)" : ""));
      option.value = a.id; picker.appendChild(option);
    });
    filter("");
    // Not modal: the agent can go on working (or ignore it) while it is open.
    dialog().show();
    $("label-intents").focus();
  }

  /* The intents matching the typed text (prefix first), the bot's guess first when nothing
   * is typed; the highlight goes to the first. */
  function filter(text) {
    var q = text.trim().toLowerCase().replace(/\s+/g, "_");
    var starts = [], contains = [];
    panel.intents.forEach(function (name) {
      var at = name.toLowerCase().indexOf(q);
      if (at === 0) starts.push(name); else if (at > 0) contains.push(name);
    });
    panel.shown = starts.concat(contains);
    panel.index = 0;
    renderIntents();
  }

  function renderIntents() {
    var list = $("label-intents");
    list.textContent = "";
    var first = Math.max(0, Math.min(panel.index - MAX_SHOWN + 1, panel.shown.length - MAX_SHOWN));
    panel.shown.slice(first, first + MAX_SHOWN).forEach(function (name, i) {
      var option = el("div", "option" + (first + i === panel.index ? " selected" : ""), name);
      option.setAttribute("role", "option");
      option.setAttribute("data-intent", name);
      option.addEventListener("mousedown", function (e) { e.preventDefault(); panel.index = first + i; renderIntents(); });
      option.addEventListener("dblclick", function () { save(false); });
      list.appendChild(option);
    });
    if (!panel.shown.length) list.appendChild(el("div", "empty", "No intent matches: O marks it out of scope"));
    $("label-chosen").textContent = panel.shown.length ? panel.shown[panel.index] : "";
  }

  function move(offset) {
    if (!panel.shown.length) return;
    panel.index = (panel.index + offset + panel.shown.length) % panel.shown.length;
    renderIntents();
  }

  function save(outOfScope) {
    var intent = panel.shown[panel.index];
    if (!outOfScope && !intent) { $("label-error").textContent = "Pick an intent, or press O for out of scope."; return; }
    var article = $("label-article").value;
    var body = { intent: outOfScope ? null : intent, out_of_scope: outOfScope,
                 article_id: article ? Number(article) : null };
    $("label-save").disabled = true;
    api("POST", AGENT + "/tickets/" + panel.ticketId + "/label", body).then(function () {
      dialog().close();
      T.toast("Labelled: " + (outOfScope ? "out of scope" : intent), "info");
    }, function (err) {
      $("label-error").textContent = err.message || String(err);
    }).then(function () { $("label-save").disabled = false; });
  }

  function bind() {
    var list = $("label-intents"), search = $("label-filter");
    list.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); save(false); return; }
      if (e.key === "o" || e.key === "O") { e.preventDefault(); save(true); return; }
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); return; }
      // Any other letter starts the typeahead.
      if (e.key.length === 1 && /[a-z0-9_ ]/i.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault(); search.focus(); search.value += e.key; filter(search.value);
      }
    });
    search.addEventListener("input", function () { filter(search.value); });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); save(false); return; }
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); }
    });
    $("label-article").addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); save(false); }
    });
    $("label-form").addEventListener("submit", function (e) { e.preventDefault(); save(false); });
    $("label-oos").addEventListener("click", function () { save(true); });
    $("label-skip").addEventListener("click", function () { dialog().close(); });
    dialog().addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); dialog().close(); }
    });
  }

  /* ---------- an agent's reply -> a knowledge-base article draft ---------- */

  function draftButton(message, ticketId) {
    var button = el("button", "draft-article", "Make article draft");
    button.type = "button";
    button.title = "Turn this reply into a knowledge-base article draft for the editors' review (personal data is masked)";
    button.setAttribute("data-message-id", message.id);
    if (drafted[message.id]) { button.disabled = true; button.textContent = "Article draft #" + drafted[message.id] + " in review"; }
    button.addEventListener("click", function () {
      button.disabled = true;
      api("POST", AGENT + "/tickets/" + ticketId + "/messages/" + message.id + "/article-draft").then(function (draft) {
        drafted[message.id] = draft.article_id;
        button.textContent = "Article draft #" + draft.article_id + " in review";
        T.toast("Draft \u201c" + draft.title + "\u201d is in the editors' review queue", "info");
      }, function (err) {
        if (err.status === 409) { button.textContent = "Already an article draft"; return; }
        button.disabled = false; T.toast(err.message || String(err));
      });
    });
    return button;
  }

  bind();
  window.TandemLabelling = { offer: offer, draftButton: draftButton };
})();
