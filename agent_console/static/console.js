/* The agent console: queue tabs, a ticket's transcript with notes, the composer with canned
 * responses, ticket fields, history and the customer's other conversations; all live over
 * the agent WebSocket. Plain DOM, no framework; data only ever goes through textContent.
 * The decisions (what a ticket offers, composer mode, canned menu, history lines, what a
 * live event means) are console_state.js; what an agent may do to a ticket comes from the
 * ticket's own `allowed_actions`. */
import { api } from "./api.js";
import { $, el, fail, languageBadge, liveSocket, localePicker, slaBadge, startWithLogin, toast } from "./common.js";
import { formatTime, stars } from "./format.js";
import { relativeTime, startLocale, t, valueLabel } from "./i18n.js";
import { draftButton, offer } from "./labelling.js";
import {
  PRIORITIES, allows, can, cannedMatches, cannedQuery, composerMode, composerView,
  eventEffects, hasComposer, headActions, historyLines, insertText, queueEmpty, reasonLine, replyBody,
  shortcutFor, statusChoices, stepTarget, timeline, wrapIndex
} from "./console_state.js";

const AGENT = "/api/v1/agent";
// Allowed status moves, rendered by the server from handoff's transition table (which
// also enforces them: a forbidden move answers 409).
const TRANSITIONS = JSON.parse($("ticket-transitions").textContent || "{}");
const TYPING_SEND_INTERVAL = 2500, TYPING_SHOWN_FOR = 4000;

var state = {
  me: null, view: "queue", tickets: [], current: null, opening: null, side: "details", mode: "reply",
  canned: [], directory: { teams: [], agents: [] }, socket: null,
  typingUntil: {}, lastTypingSent: 0, notifications: []
};

function ticket() { return state.current && state.current.ticket; }

/* ---------- start ---------- */

function start(me) {
  state.me = me;
  $("supervisor-link").hidden = !can(me, "tickets.assign");
  bindTabs(); bindPresence(); bindNotifications(); bindShortcuts(); bindDialogs();
  localePicker(relabel);
  api("GET", AGENT + "/directory").then(function (d) {
    state.directory = d;
    if (ticket()) updateDetail();  // team and agent pickers in the side panel
  }).catch(function () {});
  loadQueue();
  var linked = /^#ticket-(\d+)$/.exec(location.hash);  // links from the supervisor page
  if (linked) openTicket(Number(linked[1]));
  state.socket = liveSocket(onEvent, function () { loadQueue(); refreshCurrent(); loadNotifications(); });
  setInterval(function () {  // SLA time left counts down between events
    renderQueue();
    var head = $("ticket-head");
    if (head && ticket()) head.parentNode.replaceChild(renderHead(), head);
  }, 30000);
}

/* A new language (the header's picker): what the page drew is drawn again in it; the
 * reply being written stays. The template's marked elements are re-read by useLocale. */
function relabel() {
  renderQueue();
  if (ticket()) {
    var box = $("reply-text"), draft = box ? box.value : null;
    renderDetail();
    if (draft !== null && $("reply-text")) $("reply-text").value = draft;
  }
  if (!$("notifications").hidden) renderNotifications();
  var picker = $("presence");
  if (picker.dataset.load) picker.title = t("presence.load", JSON.parse(picker.dataset.load));
}

/* ---------- queue ---------- */

function bindTabs() {
  Array.prototype.forEach.call($("views").querySelectorAll("button"), function (button) {
    button.addEventListener("click", function () { setView(button.getAttribute("data-view")); });
  });
}

function setView(view) {
  state.view = view;
  Array.prototype.forEach.call($("views").querySelectorAll("button"), function (b) {
    b.classList.toggle("active", b.getAttribute("data-view") === view);
  });
  loadQueue();
}

function loadQueue() {
  return api("GET", AGENT + "/queue?view=" + state.view)
    .then(function (tickets) { state.tickets = tickets; renderQueue(); })
    .catch(fail);
}

function renderQueue() {
  var list = $("queue-list");
  list.textContent = "";
  if (!state.tickets.length) {
    list.appendChild(el("div", "empty", queueEmpty(state.view)));
    return;
  }
  state.tickets.forEach(function (tk) { list.appendChild(queueRow(tk)); });
}

function queueRow(tk) {
  var current = ticket();
  var row = el("div", "ticket" + (current && current.id === tk.id ? " active" : ""));
  row.setAttribute("data-ticket-id", tk.id);
  row.appendChild(el("div", "subject", tk.subject));
  var badges = el("div");
  badges.appendChild(el("span", "badge " + tk.priority, valueLabel("priority", tk.priority)));
  badges.appendChild(el("span", "badge " + tk.status, valueLabel("ticket.status", tk.status)));
  var sla = slaBadge(tk.sla);
  if (sla) badges.appendChild(sla);
  var language = languageBadge(tk.customer_locale);
  if (language) badges.appendChild(language);
  row.appendChild(badges);
  var sub = [tk.customer_name || t("customer.visitor"), tk.team_name,
    tk.assignee_name ? t("queue.assignee", { name: tk.assignee_name }) : null, relativeTime(tk.updated_at)];
  var line = el("div", "sub", sub.filter(Boolean).join(t("list.separator")));
  line.title = formatTime(tk.updated_at);
  row.appendChild(line);
  if (state.typingUntil[tk.conversation_id] > Date.now()) row.appendChild(el("div", "typing-hint", t("typing.customer")));
  row.addEventListener("click", function () { openTicket(tk.id); });
  return row;
}

function step(offset) {
  var current = ticket();
  var next = stepTarget(state.tickets, current ? current.id : null, offset);
  if (next !== null) openTicket(next);
}

/* ---------- one ticket ---------- */

function openTicket(id) {
  var switching = !ticket() || ticket().id !== id;
  state.opening = id;
  return api("GET", AGENT + "/tickets/" + id).then(function (d) {
    if (state.opening !== id) return;  // the agent has moved on to another ticket
    state.current = d;
    history.replaceState(null, "", "#ticket-" + id);
    if (switching) {
      state.mode = composerMode(d.ticket, "reply");
      loadCanned(id);
      renderDetail();
    } else {
      updateDetail();
    }
    renderQueue();
  }).catch(fail);
}

function refreshCurrent() { if (ticket()) return openTicket(ticket().id); }

function renderDetail() {
  var detail = $("detail");
  detail.textContent = "";
  detail.appendChild(renderHead());
  var work = el("div"); work.id = "work";
  var conversation = el("div"); conversation.id = "conversation";
  var transcript = el("div"); transcript.id = "transcript";
  conversation.appendChild(transcript);
  var typing = el("div"); typing.id = "typing"; conversation.appendChild(typing);
  if (hasComposer(ticket())) conversation.appendChild(renderComposer());
  work.appendChild(conversation);
  work.appendChild(renderSide());
  detail.appendChild(work);
  renderTranscript(true);
}

/* The same ticket re-read (a live event): replace what changed but leave the composer, and
 * a side-panel field being edited, alone so typing is never interrupted. */
function updateDetail() {
  var head = $("ticket-head");
  if (!head) { renderDetail(); return; }
  head.parentNode.replaceChild(renderHead(), head);
  renderTranscript(false);
  var side = $("side");
  if (!side.contains(document.activeElement)) side.parentNode.replaceChild(renderSide(), side);
  var composer = $("composer");
  if (!hasComposer(ticket())) { if (composer) composer.parentNode.removeChild(composer); }
  else if (!composer) $("conversation").appendChild(renderComposer());
  else applyMode(composer);
}

function renderHead() {
  var tk = ticket(), d = state.current;
  var head = el("div"); head.id = "ticket-head";
  var facts = el("div", "facts");
  facts.appendChild(el("div", "title", "#" + tk.id + " " + tk.subject));
  facts.appendChild(el("div", "reason", reasonLine(tk, d.conversation)));
  var badges = el("div");
  badges.appendChild(el("span", "badge " + tk.priority, valueLabel("priority", tk.priority)));
  var status = el("span", "badge " + tk.status, valueLabel("ticket.status", tk.status)); status.id = "ticket-status";
  badges.appendChild(status);
  var sla = slaBadge(tk.sla); if (sla) { sla.id = "sla-badge"; badges.appendChild(sla); }
  // The customer's language, as the conversation was started in it.
  var language = languageBadge((d.conversation && d.conversation.locale) || tk.customer_locale);
  if (language) { language.id = "locale-badge"; badges.appendChild(language); }
  if (d.csat) {
    var rating = el("span", "badge csat", t("ticket.csat", { stars: stars(d.csat.score) }));
    rating.id = "csat-badge"; badges.appendChild(rating);
  }
  if (tk.merged_into_id) badges.appendChild(el("span", "badge", t("ticket.mergedInto", { id: tk.merged_into_id })));
  facts.appendChild(badges);
  head.appendChild(facts);
  var run = { claim: claim, solve: solve };
  headActions(tk).forEach(function (a) { head.appendChild(actionButton(a.label, a.id, a.cls, run[a.id])); });
  return head;
}

function actionButton(label, id, cls, action) {
  var button = el("button", cls, label); button.type = "button"; button.id = id;
  button.addEventListener("click", function () {
    button.disabled = true;
    Promise.resolve(action()).then(function () { button.disabled = false; }, function (err) { button.disabled = false; fail(err); });
  });
  return button;
}

/* A ticket action, then the view and the list are re-read. */
function post(suffix, body, method) {
  return api(method || "POST", AGENT + "/tickets/" + ticket().id + suffix, body)
    .then(function () { return Promise.all([refreshCurrent(), loadQueue()]); });
}

/* Solving, then the optional label step (labelling.js): it opens once the ticket is
 * solved, so it can never hold solving up. */
function solve() {
  var solved = ticket();
  return post("/solve").then(function () { offerLabel(solved); });
}

function offerLabel(tk) { offer(tk); }

function claim() {
  return post("/claim").then(function () { setMode("reply"); },
    function (err) { if (err.status === 409) { refreshCurrent(); loadQueue(); } throw err; });
}

/* ---------- transcript and notes ---------- */

function renderTranscript(toBottom) {
  var box = $("transcript"); if (!box) return;
  var nearBottom = toBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.textContent = "";
  timeline(state.current.messages, state.current.notes).forEach(function (entry) {
    box.appendChild(entry.kind === "note" ? noteNode(entry.item) : messageNode(entry.item));
  });
  if (nearBottom) box.scrollTop = box.scrollHeight;
}

function messageNode(m) {
  var node = el("div", "msg " + m.sender_type);
  node.setAttribute("data-message-id", m.id);
  var meta = m.meta || {};
  var who = { customer: state.current.conversation.customer_name || t("sender.customer"), bot: t("sender.bot"),
    agent: meta.agent_name || t("sender.agent"), system: "" }[m.sender_type];
  var details = [];
  if (m.sender_type === "bot" && meta.intent) {
    details.push(meta.confidence != null
      ? t("message.intentConfidence", { intent: meta.intent, percent: Math.round(meta.confidence * 100) })
      : t("message.intent", { intent: meta.intent }));
  }
  if (meta.kind === "handoff") details.push(t("message.handoff", { reason: valueLabel("reason", meta.reason || "requested") }));
  details.push(formatTime(m.created_at));
  if (who !== "") node.appendChild(el("span", "who", [who].concat(details).join(t("list.separator"))));
  node.appendChild(document.createTextNode(m.text));
  // An agent's answer the knowledge base lacked can become an article draft in one click.
  if (m.sender_type === "agent" && ticket()) node.appendChild(draftButton(m, ticket().id));
  return node;
}

function noteNode(n) {
  var node = el("div", "msg note");
  node.setAttribute("data-note-id", n.id);
  node.appendChild(el("span", "who", t("note.header", { author: n.author_name || t("sender.agent"), time: formatTime(n.created_at) })));
  node.appendChild(document.createTextNode(n.text));
  return node;
}

function appendLive(node) {
  var box = $("transcript"); if (!box) return;
  var nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.appendChild(node);
  if (nearBottom) box.scrollTop = box.scrollHeight;
}

function showTyping(conversationId, text) {
  state.typingUntil[conversationId] = Date.now() + TYPING_SHOWN_FOR;
  var current = ticket();
  if (current && current.conversation_id === conversationId && $("typing")) {
    $("typing").textContent = text;
    setTimeout(function () {
      if ($("typing") && state.typingUntil[conversationId] <= Date.now()) $("typing").textContent = "";
    }, TYPING_SHOWN_FOR + 50);
  }
}

/* ---------- composer ---------- */

function renderComposer() {
  var composer = el("form"); composer.id = "composer";
  var modes = el("div", "modes");
  var replyTab = el("button", null, t("composer.reply")); replyTab.type = "button"; replyTab.id = "mode-reply";
  var noteTab = el("button", null, t("composer.note")); noteTab.type = "button"; noteTab.id = "mode-note";
  replyTab.addEventListener("click", function () { setMode("reply"); });
  noteTab.addEventListener("click", function () { setMode("note"); });
  modes.appendChild(replyTab); modes.appendChild(noteTab);
  modes.appendChild(el("span", "hint", t("composer.hint")));
  composer.appendChild(modes);
  var row = el("div", "row");
  var box = el("textarea"); box.id = "reply-text";
  var then = el("select"); then.id = "reply-then"; then.title = t("composer.then.title");
  [["", t("composer.then.keep")], ["pending", t("composer.then.pending")], ["solved", t("composer.then.solved")]].forEach(function (o) {
    var option = el("option", null, o[1]); option.value = o[0]; then.appendChild(option);
  });
  var send = el("button", "primary", t("composer.send")); send.type = "submit"; send.id = "reply-send";
  row.appendChild(box); row.appendChild(then); row.appendChild(send);
  composer.appendChild(row);
  var menu = el("div"); menu.id = "canned-menu"; menu.hidden = true; composer.appendChild(menu);
  composer.addEventListener("submit", function (e) { e.preventDefault(); submitComposer(); });
  box.addEventListener("keydown", composerKeys);
  box.addEventListener("input", function () { updateCannedMenu(); sendTyping(); });
  applyMode(composer);
  return composer;
}

function setMode(mode) {
  var tk = ticket();
  if (mode === "reply" && !allows(tk, "reply")) { toast(t("composer.claimToReply"), "info"); return; }
  state.mode = composerMode(tk, mode);
  applyMode($("composer"));
  $("reply-text").focus();
}

/* Shows the composer for state.mode; reply mode only where the agent may reply. */
function applyMode(composer) {
  if (!composer) return;
  state.mode = composerMode(ticket(), state.mode);
  var view = composerView(ticket(), state.mode), replyTab = composer.querySelector("#mode-reply");
  replyTab.disabled = view.replyDisabled;
  replyTab.title = view.replyTitle;
  composer.classList.toggle("note-mode", view.note);
  replyTab.classList.toggle("active", !view.note);
  composer.querySelector("#mode-note").classList.toggle("active", view.note);
  composer.querySelector("#reply-then").hidden = !view.showThen;
  composer.querySelector("#reply-send").textContent = view.send;
  composer.querySelector("#reply-text").placeholder = view.placeholder;
}

function submitComposer() {
  var box = $("reply-text"), text = box.value.trim();
  if (!text) return;
  var tk = ticket(), send = $("reply-send");
  send.disabled = true;
  var request = state.mode === "note"
    ? api("POST", AGENT + "/tickets/" + tk.id + "/notes", { text: text }).then(function (note) { addNote(note); })
    : api("POST", AGENT + "/tickets/" + tk.id + "/messages", replyBody(text, $("reply-then").value)).then(function (message) {
        addMessage(message);
        var then = $("reply-then").value;
        if (then) return Promise.all([refreshCurrent(), loadQueue()]).then(function () { if (then === "solved") offerLabel(tk); });
      });
  request.then(function () { box.value = ""; }, fail).then(function () { if ($("reply-send")) $("reply-send").disabled = false; });
}

function addMessage(m) {
  if (!state.current || state.current.messages.some(function (x) { return x.id === m.id; })) return;
  state.current.messages.push(m);
  appendLive(messageNode(m));
}

function addNote(n) {
  if (!state.current || state.current.notes.some(function (x) { return x.id === n.id; })) return;
  state.current.notes.push(n);
  appendLive(noteNode(n));
}

function sendTyping() {
  var tk = ticket();
  if (state.mode !== "reply" || !tk || Date.now() - state.lastTypingSent < TYPING_SEND_INTERVAL) return;
  state.lastTypingSent = Date.now();
  state.socket.send({ type: "typing", conversation_id: tk.conversation_id });
}

/* ---------- canned responses: "/" + shortcut ---------- */

function loadCanned(ticketId) {
  state.canned = [];
  api("GET", AGENT + "/canned?ticket_id=" + ticketId)
    .then(function (list) { if (ticket() && ticket().id === ticketId) state.canned = list; })
    .catch(function () {});
}

function updateCannedMenu() {
  var box = $("reply-text"), menu = $("canned-menu");
  menu.textContent = "";
  var matches = cannedMatches(state.canned, cannedQuery(box.value, box.selectionStart));
  menu.hidden = !matches.length;
  matches.forEach(function (c, i) {
    var option = el("div", "option" + (i === 0 ? " selected" : ""));
    option.setAttribute("data-canned-id", c.id);
    option.appendChild(el("b", null, "/" + c.shortcut));
    option.appendChild(document.createTextNode(t("canned.menuItem", { title: c.title, scope: valueLabel("canned.scopeName", c.scope) })));
    option.appendChild(el("small", null, c.rendered || c.body));
    option.addEventListener("mousedown", function (e) { e.preventDefault(); insertCanned(c); });
    menu.appendChild(option);
  });
}

function moveCannedSelection(offset) {
  var options = $("canned-menu").querySelectorAll(".option"), index = 0;
  Array.prototype.forEach.call(options, function (o, i) { if (o.classList.contains("selected")) index = i; });
  options[index].classList.remove("selected");
  options[wrapIndex(index, offset, options.length)].classList.add("selected");
}

function insertCanned(c) {
  var box = $("reply-text"), caret = box.selectionStart;
  var result = insertText(box.value, caret, cannedQuery(box.value, caret), c.rendered || c.body);
  box.value = result.value;
  box.selectionStart = box.selectionEnd = result.caret;
  $("canned-menu").hidden = true;
  box.focus();
}

function composerKeys(e) {
  var menu = $("canned-menu");
  if (!menu.hidden) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); moveCannedSelection(e.key === "ArrowDown" ? 1 : -1); return; }
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      var chosen = menu.querySelector(".option.selected");
      var id = Number(chosen.getAttribute("data-canned-id"));
      insertCanned(state.canned.filter(function (c) { return c.id === id; })[0]);
      return;
    }
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); menu.hidden = true; return; }
  }
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submitComposer(); }
}

/* ---------- side panel: details, history, customer ---------- */

function renderSide() {
  var side = el("aside"); side.id = "side";
  var tabs = el("nav", "tabs");
  [["details", t("side.details")], ["history", t("side.history")], ["customer", t("side.customer")]].forEach(function (tab) {
    var button = el("button", state.side === tab[0] ? "active" : "", tab[1]);
    button.type = "button"; button.id = "side-" + tab[0];
    button.addEventListener("click", function () {
      state.side = tab[0];
      var old = $("side"); old.parentNode.replaceChild(renderSide(), old);
    });
    tabs.appendChild(button);
  });
  side.appendChild(tabs);
  var body = el("div"); body.id = "side-body";
  ({ details: renderFields, history: renderHistory, customer: renderCustomer })[state.side](body);
  side.appendChild(body);
  return side;
}

function select(id, options, value) {
  var node = el("select"); node.id = id;
  options.forEach(function (o) {
    var option = el("option", null, o[1]); option.value = o[0];
    if (String(o[0]) === String(value)) option.selected = true;
    node.appendChild(option);
  });
  return node;
}

function labelled(parent, text, control) {
  var label = el("label", null, text); label.htmlFor = control.id;
  parent.appendChild(label); parent.appendChild(control);
  return control;
}

function renderFields(body) {
  var tk = ticket();
  body.appendChild(el("h3", null, t("fields.heading")));
  var choices = statusChoices(tk, TRANSITIONS).map(function (c) { return [c.value, c.label]; });
  var status = labelled(body, t("fields.status"), select("field-status", choices, tk.status));
  status.addEventListener("change", function () {
    var target = status.value;
    var done = target === "solved" ? solve() : post("", { status: target }, "PATCH");
    done.catch(function (err) { status.value = tk.status; fail(err); });
  });
  var priority = labelled(body, t("fields.priority"), select("field-priority", PRIORITIES.map(function (p) { return [p, valueLabel("priority", p)]; }), tk.priority));
  priority.addEventListener("change", function () { post("", { priority: priority.value }, "PATCH").catch(fail); });
  var category = labelled(body, t("fields.category"), el("input")); category.id = "field-category"; category.value = tk.category || "";
  var tags = labelled(body, t("fields.tags"), el("input")); tags.id = "field-tags"; tags.value = (tk.tags || []).join(", ");
  var save = el("button", "secondary", t("fields.save")); save.type = "button"; save.id = "save-fields";
  save.addEventListener("click", function () {
    var list = tags.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    post("", { category: category.value.trim(), tags: list }, "PATCH").catch(fail);  // "" clears it
  });
  body.appendChild(el("div", "inline")).appendChild(save);

  var watching = (tk.watcher_ids || []).indexOf(state.me.id) >= 0;
  var watch = el("button", "secondary", watching ? t("fields.unwatch") : t("fields.watch")); watch.type = "button"; watch.id = "watch";
  watch.title = t("fields.watching", { count: (tk.watcher_ids || []).length });
  watch.addEventListener("click", function () { post("/watch", undefined, watching ? "DELETE" : "POST").catch(fail); });
  body.appendChild(el("div", "inline")).appendChild(watch);

  renderTransfer(body, tk);
  if (allows(tk, "assign")) renderAssign(body, tk);
  if (allows(tk, "merge")) renderMerge(body, tk);
}

function renderTransfer(body, tk) {
  body.appendChild(el("h3", null, t("transfer.heading")));
  if (!state.directory.teams.length) { body.appendChild(el("small", null, t("transfer.noTeams"))); return; }
  var teams = state.directory.teams.map(function (team) { return [team.id, team.name]; });
  var team = labelled(body, t("transfer.team"), select("transfer-team", teams, tk.team_id));
  var note = labelled(body, t("transfer.note"), el("textarea")); note.id = "transfer-note"; note.rows = 2;
  var go = el("button", "secondary", t("transfer.submit")); go.type = "button"; go.id = "transfer";
  go.addEventListener("click", function () {
    post("/transfer", { team_id: Number(team.value), note: note.value.trim() }).catch(fail);
  });
  body.appendChild(el("div", "inline")).appendChild(go);
}

function renderAssign(body, tk) {
  body.appendChild(el("h3", null, t("assign.heading")));
  var agents = [["", t("assign.nobody")]].concat(state.directory.agents.map(function (a) {
    return [a.id, t("assign.agentOption", { name: a.display_name, status: valueLabel("presence.state", a.status) })];
  }));
  var who = labelled(body, t("assign.agent"), select("assign-agent", agents, tk.assignee_id || ""));
  var go = el("button", "secondary", t("assign.submit")); go.type = "button"; go.id = "assign";
  go.addEventListener("click", function () {
    post("/assign", { assignee_id: who.value ? Number(who.value) : null, team_id: tk.team_id }).catch(fail);
  });
  body.appendChild(el("div", "inline")).appendChild(go);
}

function renderMerge(body, tk) {
  body.appendChild(el("h3", null, t("merge.heading")));
  var into = labelled(body, t("merge.into"), el("input")); into.id = "merge-into"; into.type = "number"; into.min = "1";
  var go = el("button", "secondary", t("merge.submit")); go.type = "button"; go.id = "merge";
  go.addEventListener("click", function () {
    var target = Number(into.value);
    if (!target || !window.confirm(t("merge.confirm", { id: tk.id, target: target }))) return;
    api("POST", AGENT + "/tickets/" + tk.id + "/merge", { into_ticket_id: target })
      .then(function (merged) { loadQueue(); return openTicket(merged.id); }).catch(fail);
  });
  body.appendChild(el("div", "inline")).appendChild(go);
}

function renderHistory(body) {
  var history = state.current.history || [];
  if (!history.length) body.appendChild(el("div", "empty", t("history.empty")));
  history.slice().reverse().forEach(function (h) {
    var item = el("div", "history-item");
    item.appendChild(el("b", null, valueLabel("history.action", h.action)));
    historyLines(h, state.directory).forEach(function (line) { item.appendChild(el("div", null, line)); });
    if (h.note) item.appendChild(el("div", null, t("common.quote", { text: h.note })));
    item.appendChild(el("small", null, (h.actor_name || t("history.system")) + t("list.separator") + formatTime(h.created_at)));
    body.appendChild(item);
  });
}

function renderCustomer(body) {
  var c = state.current.conversation, d = state.current;
  body.appendChild(el("h3", null, t("customer.heading")));
  body.appendChild(el("div", null, c.customer_name || t("customer.noName")));
  body.appendChild(el("div", null, c.customer_email || t("customer.noEmail")));
  body.appendChild(el("small", null, t("customer.channelLine", {
    channel: valueLabel("channel", c.channel), status: valueLabel("conversation.status", c.status) })));
  if (d.csat) {
    body.appendChild(el("h3", null, t("customer.rating")));
    var box = el("div", "csat-box"); box.id = "csat";
    box.appendChild(el("span", "stars", stars(d.csat.score)));
    box.appendChild(el("span", null, " " + t("customer.score", { score: d.csat.score })));
    if (d.csat.comment) box.appendChild(el("div", null, t("common.quote", { text: d.csat.comment })));
    box.appendChild(el("small", null, formatTime(d.csat.created_at)));
    body.appendChild(box);
  }
  body.appendChild(el("h3", null, t("customer.previous")));
  var previous = d.previous_conversations || [];
  if (!previous.length) body.appendChild(el("small", null, t("customer.noPrevious")));
  previous.forEach(function (p) {
    var item = el("div", "prev-item");
    var title = el(p.ticket_id ? "a" : "span", null, (p.ticket_id ? "#" + p.ticket_id + " " : "") + (p.subject || t("customer.conversation")));
    if (p.ticket_id) { title.href = "#"; title.addEventListener("click", function (e) { e.preventDefault(); openTicket(p.ticket_id); }); }
    item.appendChild(title);
    item.appendChild(el("small", null, valueLabel("ticket.status", p.status) + t("list.separator") + formatTime(p.created_at)));
    body.appendChild(item);
  });
}

/* ---------- live events ---------- */

/* A burst of events (a busy queue) costs one re-read, not one per event. */
var pendingReads = {};
function soon(name, read) {
  if (pendingReads[name]) return;
  pendingReads[name] = setTimeout(function () { pendingReads[name] = null; read(); }, 250);
}

function onEvent(ev) {
  eventEffects(ev, ticket(), state.tickets, state.me.id).forEach(function (effect) {
    switch (effect) {
      case "add-message": addMessage(ev.message); break;
      case "typing-stopped": state.typingUntil[ev.conversation_id] = 0; $("typing").textContent = ""; break;
      case "add-note": addNote(ev.note); break;
      case "customer-typing": showTyping(ev.conversation_id, t("typing.customer")); renderQueue(); break;
      case "reload-queue": soon("queue", loadQueue); break;
      case "reload-ticket": soon("ticket", refreshCurrent); break;
      case "reload-notifications": soon("notifications", loadNotifications); break;
      case "own-presence": $("presence").value = ev.status; $("presence").className = ev.status; break;
    }
  });
}

/* ---------- presence ---------- */

function bindPresence() {
  var picker = $("presence");
  api("GET", AGENT + "/presence/me").then(function (p) {
    picker.hidden = false; picker.value = p.status; picker.className = p.status;
    showLoad(picker, p);
  }).catch(function () {});
  picker.addEventListener("change", function () {
    api("PUT", AGENT + "/presence/me", { status: picker.value })
      .then(function (p) { picker.className = p.status; showLoad(picker, p); loadQueue(); })
      .catch(fail);
  });
}

function showLoad(picker, p) {
  var load = { load: p.load, capacity: p.capacity };
  picker.dataset.load = JSON.stringify(load);
  picker.title = t("presence.load", load);
}

/* ---------- notifications (tolerated missing: the bell stays hidden) ---------- */

function bindNotifications() {
  $("bell").addEventListener("click", function () {
    var panel = $("notifications");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) renderNotifications();
  });
  loadNotifications();
}

function loadNotifications() {
  api("GET", AGENT + "/notifications").then(function (list) {
    state.notifications = Array.isArray(list) ? list : (list.items || []);
    $("bell").hidden = false;
    var unread = state.notifications.filter(function (n) { return !n.read_at; }).length;
    $("bell-count").hidden = !unread; $("bell-count").textContent = unread;
    if (!$("notifications").hidden) renderNotifications();
  }).catch(function () {});
}

function renderNotifications() {
  var panel = $("notifications");
  panel.textContent = "";
  if (!state.notifications.length) panel.appendChild(el("div", "empty", t("notifications.empty")));
  state.notifications.forEach(function (n) {
    var kind = valueLabel("notification.kind", n.kind);
    var item = el("div", "item" + (n.read_at ? "" : " unread"), n.text || kind);
    var facts = [kind, n.ticket_id ? "#" + n.ticket_id : null, formatTime(n.created_at)];
    item.appendChild(el("small", null, facts.filter(Boolean).join(t("list.separator"))));
    item.addEventListener("click", function () {
      if (!n.read_at) api("POST", AGENT + "/notifications/" + n.id + "/read").then(loadNotifications).catch(function () {});
      panel.hidden = true;
      if (n.ticket_id) openTicket(n.ticket_id);
    });
    panel.appendChild(item);
  });
}

/* ---------- dialogs: a ticket opened by hand, canned responses ---------- */

function bindDialogs() {
  Array.prototype.forEach.call(document.querySelectorAll("dialog [data-close]"), function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });
  $("new-ticket-open").addEventListener("click", openNewTicket);
  $("new-ticket").addEventListener("submit", function (e) { e.preventDefault(); createTicket(); });
  $("canned-open").addEventListener("click", openCannedManager);
  $("canned-form").addEventListener("submit", function (e) { e.preventDefault(); addCanned(); });
}

function fillTeams(picker, emptyLabel) {
  picker.textContent = "";
  var none = el("option", null, emptyLabel); none.value = ""; picker.appendChild(none);
  state.directory.teams.forEach(function (team) {
    var option = el("option", null, team.name); option.value = team.id; picker.appendChild(option);
  });
}

function openNewTicket() {
  fillTeams($("nt-team"), t("newTicket.routeAuto"));
  $("nt-error").textContent = "";
  $("new-ticket-dialog").showModal();
  $("nt-email").focus();
}

function createTicket() {
  var body = {
    customer_email: $("nt-email").value.trim(), customer_name: $("nt-name").value.trim() || null,
    subject: $("nt-subject").value.trim(), text: $("nt-text").value, priority: $("nt-priority").value,
    team_id: $("nt-team").value ? Number($("nt-team").value) : null
  };
  $("nt-submit").disabled = true;
  api("POST", AGENT + "/tickets", body).then(function (tk) {
    $("new-ticket").reset();
    $("new-ticket-dialog").close();
    setView("mine");
    openTicket(tk.id);
  }, function (err) { $("nt-error").textContent = err.message; })
    .then(function () { $("nt-submit").disabled = false; });
}

function openCannedManager() {
  fillTeams($("cf-team"), "—");
  $("cf-error").textContent = "";
  $("canned-dialog").showModal();
  loadCannedList();
}

function loadCannedList() {
  var list = $("canned-list");
  api("GET", AGENT + "/canned").then(function (items) {
    list.textContent = "";
    if (!items.length) list.appendChild(el("div", "empty", t("canned.empty")));
    items.forEach(function (c) { list.appendChild(cannedItem(c)); });
  }).catch(fail);
}

function cannedItem(c) {
  var item = el("div", "canned-item"), text = el("div");
  text.appendChild(el("b", null, "/" + c.shortcut + " "));
  var scope = c.scope === "team" ? t("canned.teamNamed", { team: teamName(c.team_id) }) : valueLabel("canned.scopeName", c.scope);
  text.appendChild(document.createTextNode(c.title + t("list.separator") + scope));
  text.appendChild(el("small", null, c.body));
  item.appendChild(text);
  var remove = el("button", "secondary", t("canned.delete")); remove.type = "button";
  remove.addEventListener("click", function () {
    if (!window.confirm(t("canned.confirmDelete", { shortcut: c.shortcut }))) return;
    api("DELETE", AGENT + "/canned/" + c.id).then(function () { loadCannedList(); reloadCanned(); }).catch(fail);
  });
  item.appendChild(remove);
  return item;
}

function teamName(id) {
  var team = state.directory.teams.filter(function (tk) { return tk.id === id; })[0];
  return team ? team.name : "#" + id;
}

function addCanned() {
  var body = { shortcut: $("cf-shortcut").value.trim(), title: $("cf-title").value.trim(),
               body: $("cf-body").value, scope: $("cf-scope").value };
  if (body.scope === "team") body.team_id = $("cf-team").value ? Number($("cf-team").value) : null;
  api("POST", AGENT + "/canned", body).then(function () {
    $("canned-form").reset(); $("cf-error").textContent = "";
    loadCannedList(); reloadCanned();
  }, function (err) { $("cf-error").textContent = err.message; });
}

/* The open ticket's "/" menu follows changes made in the manager. */
function reloadCanned() { if (ticket()) loadCanned(ticket().id); }

/* ---------- keyboard ---------- */

function closeOverlays() {
  $("help-overlay").hidden = true;
  $("notifications").hidden = true;
  if ($("canned-menu")) $("canned-menu").hidden = true;
}

function bindShortcuts() {
  $("help").addEventListener("click", function () { $("help-overlay").hidden = false; });
  $("help-overlay").addEventListener("click", function (e) { if (e.target === $("help-overlay")) closeOverlays(); });
  document.addEventListener("keydown", function (e) {
    if (document.querySelector("dialog[open]")) return;  // a dialog handles its own keys (Esc closes it)
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (e.key === "Escape") { closeOverlays(); if (typing) e.target.blur(); return; }
    if (e.altKey && (e.key === "n" || e.key === "N" || e.code === "KeyN")) {
      e.preventDefault(); if (ticket() && $("composer")) setMode(state.mode === "note" ? "reply" : "note"); return;
    }
    if (e.altKey && (e.key === "ArrowDown" || e.key === "ArrowUp")) { e.preventDefault(); step(e.key === "ArrowDown" ? 1 : -1); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    var shortcut = shortcutFor(e.key);
    if (!shortcut) return;
    e.preventDefault();
    if (shortcut.action === "help") $("help-overlay").hidden = false;
    else if (shortcut.action === "step") step(shortcut.offset);
    else if (shortcut.action === "view") setView(shortcut.view);
    else if (shortcut.action === "claim") { if ($("claim")) $("claim").click(); }
    else if (shortcut.action === "focus-reply") { if ($("reply-text")) $("reply-text").focus(); }
  });
}

startLocale().then(function () { startWithLogin(start); });
