/* The agent console: queue tabs, a ticket's transcript with notes, the composer with canned
 * responses, ticket fields, history and the customer's other conversations; all live over
 * the agent WebSocket. Plain DOM, no framework; data only ever goes through textContent. */
(function () {
  "use strict";
  var T = window.Tandem, $ = T.$, el = T.el, api = T.api;
  var AGENT = "/api/v1/agent";
  // Allowed status moves, rendered by the server from handoff's transition table (which
  // also enforces them: a forbidden move answers 409).
  var TRANSITIONS = JSON.parse($("ticket-transitions").textContent || "{}");
  var STATUS_LABELS = { new: "New", open: "Open", pending: "Pending (on customer)", on_hold: "On hold", solved: "Solved", closed: "Closed" };
  var PRIORITIES = ["low", "normal", "high", "urgent"];
  var TYPING_SEND_INTERVAL = 2500, TYPING_SHOWN_FOR = 4000;

  var state = {
    me: null, view: "queue", tickets: [], current: null, opening: null, side: "details", mode: "reply",
    canned: [], directory: { teams: [], agents: [] }, socket: null,
    typingUntil: {}, lastTypingSent: 0, notifications: []
  };

  function can(permission) { return state.me.permissions.indexOf(permission) >= 0; }
  function ticket() { return state.current && state.current.ticket; }
  function isMine(t) { return t.assignee_id === state.me.id; }
  /* Mirrors the server's rule (handoff.service): the assignee replies, or anyone who may
   * assign tickets; replying to an unclaimed ticket claims it. */
  function canReply(t) {
    if (t.status === "closed" || t.merged_into_id) return false;
    return isMine(t) || can("tickets.assign") || (t.status === "new" && !t.assignee_id);
  }
  function fail(err) { T.toast(err.message || String(err)); }

  /* ---------- start ---------- */

  function start(me) {
    state.me = me;
    $("supervisor-link").hidden = !can("tickets.assign");
    bindTabs(); bindPresence(); bindNotifications(); bindShortcuts(); bindDialogs();
    api("GET", AGENT + "/directory").then(function (d) {
      state.directory = d;
      if (ticket()) updateDetail();  // team and agent pickers in the side panel
    }).catch(function () {});
    loadQueue();
    var linked = /^#ticket-(\d+)$/.exec(location.hash);  // links from the supervisor page
    if (linked) openTicket(Number(linked[1]));
    state.socket = T.liveSocket(onEvent, function () { loadQueue(); refreshCurrent(); loadNotifications(); });
    setInterval(function () {  // SLA time left counts down between events
      renderQueue();
      var head = $("ticket-head");
      if (head && ticket()) head.parentNode.replaceChild(renderHead(), head);
    }, 30000);
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
      list.appendChild(el("div", "empty", { queue: "Nobody is waiting.", mine: "You have no open conversations.", all: "No open tickets." }[state.view]));
      return;
    }
    state.tickets.forEach(function (t) { list.appendChild(queueRow(t)); });
  }

  function queueRow(t) {
    var current = ticket();
    var row = el("div", "ticket" + (current && current.id === t.id ? " active" : ""));
    row.setAttribute("data-ticket-id", t.id);
    row.appendChild(el("div", "subject", t.subject));
    var badges = el("div");
    badges.appendChild(el("span", "badge " + t.priority, t.priority));
    badges.appendChild(el("span", "badge " + t.status, T.humanize(t.status)));
    var sla = T.slaBadge(t.sla);
    if (sla) badges.appendChild(sla);
    row.appendChild(badges);
    var sub = [t.customer_name || "Visitor", t.team_name, t.assignee_name ? "→ " + t.assignee_name : null, T.formatTime(t.updated_at)];
    row.appendChild(el("div", "sub", sub.filter(Boolean).join(" · ")));
    if (state.typingUntil[t.conversation_id] > Date.now()) row.appendChild(el("div", "typing-hint", "Customer is typing…"));
    row.addEventListener("click", function () { openTicket(t.id); });
    return row;
  }

  function step(offset) {
    if (!state.tickets.length) return;
    var current = ticket(), index = -1;
    state.tickets.forEach(function (t, i) { if (current && t.id === current.id) index = i; });
    var next = Math.max(0, Math.min(state.tickets.length - 1, index + offset));
    if (index === -1) next = offset > 0 ? 0 : state.tickets.length - 1;
    openTicket(state.tickets[next].id);
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
        state.mode = canReply(d.ticket) ? "reply" : "note";
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
    if (ticket().status !== "closed") conversation.appendChild(renderComposer());
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
    if (ticket().status === "closed") { if (composer) composer.parentNode.removeChild(composer); }
    else if (!composer) $("conversation").appendChild(renderComposer());
    else applyMode(composer);
  }

  function renderHead() {
    var t = ticket(), d = state.current;
    var head = el("div"); head.id = "ticket-head";
    var facts = el("div", "facts");
    facts.appendChild(el("div", "title", "#" + t.id + " " + t.subject));
    // Tickets an agent opened or a customer e-mailed were never with the bot.
    var opened = t.reason === "agent_opened" || t.reason === "email";
    var line = [(opened ? "Opened: " : "Hand-off: ") + T.humanize(t.reason)];
    if (t.detected_intent) {
      line.push("intent " + t.detected_intent + (t.intent_confidence != null ? " (" + Math.round(t.intent_confidence * 100) + "% confidence)" : ""));
    }
    line.push(t.channel || d.conversation.channel);
    if (t.team_name) line.push("team " + t.team_name);
    line.push(t.assignee_name ? "assigned to " + t.assignee_name : "unassigned");
    facts.appendChild(el("div", "reason", line.join(" · ")));
    var badges = el("div");
    badges.appendChild(el("span", "badge " + t.priority, t.priority));
    var status = el("span", "badge " + t.status, T.humanize(t.status)); status.id = "ticket-status";
    badges.appendChild(status);
    var sla = T.slaBadge(t.sla); if (sla) { sla.id = "sla-badge"; badges.appendChild(sla); }
    if (d.csat) {
      var rating = el("span", "badge csat", "CSAT " + "★".repeat(d.csat.score) + "☆".repeat(5 - d.csat.score));
      rating.id = "csat-badge"; badges.appendChild(rating);
    }
    if (t.merged_into_id) badges.appendChild(el("span", "badge", "merged into #" + t.merged_into_id));
    facts.appendChild(badges);
    head.appendChild(facts);
    if (t.status === "new") head.appendChild(actionButton("Claim", "claim", "primary", claim));
    if (["open", "pending", "on_hold"].indexOf(t.status) >= 0) {
      head.appendChild(actionButton("Solve", "solve", "secondary", solve));
    }
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

  function offerLabel(t) { if (window.TandemLabelling) window.TandemLabelling.offer(t); }

  function claim() {
    return post("/claim").then(function () { setMode("reply"); },
      function (err) { if (err.status === 409) { refreshCurrent(); loadQueue(); } throw err; });
  }

  /* ---------- transcript and notes ---------- */

  function renderTranscript(toBottom) {
    var box = $("transcript"); if (!box) return;
    var nearBottom = toBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    box.textContent = "";
    var items = state.current.messages.map(function (m) { return { at: m.created_at, node: messageNode(m) }; })
      .concat(state.current.notes.map(function (n) { return { at: n.created_at, node: noteNode(n) }; }));
    items.sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : 0; });
    items.forEach(function (item) { box.appendChild(item.node); });
    if (nearBottom) box.scrollTop = box.scrollHeight;
  }

  function messageNode(m) {
    var node = el("div", "msg " + m.sender_type);
    node.setAttribute("data-message-id", m.id);
    var meta = m.meta || {};
    var who = { customer: state.current.conversation.customer_name || "Customer", bot: "Bot", agent: meta.agent_name || "Agent", system: "" }[m.sender_type];
    var details = [];
    if (m.sender_type === "bot" && meta.intent) details.push("intent " + meta.intent + (meta.confidence != null ? " " + Math.round(meta.confidence * 100) + "%" : ""));
    if (meta.kind === "handoff") details.push("hand-off: " + T.humanize(meta.reason || "requested"));
    details.push(T.formatTime(m.created_at));
    if (who !== "") node.appendChild(el("span", "who", [who].concat(details).join(" · ")));
    node.appendChild(document.createTextNode(m.text));
    // An agent's answer the knowledge base lacked can become an article draft in one click.
    if (m.sender_type === "agent" && window.TandemLabelling && ticket()) node.appendChild(window.TandemLabelling.draftButton(m, ticket().id));
    return node;
  }

  function noteNode(n) {
    var node = el("div", "msg note");
    node.setAttribute("data-note-id", n.id);
    node.appendChild(el("span", "who", "Internal note · " + (n.author_name || "Agent") + " · only agents see this · " + T.formatTime(n.created_at)));
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
    var replyTab = el("button", null, "Reply"); replyTab.type = "button"; replyTab.id = "mode-reply";
    var noteTab = el("button", null, "Internal note"); noteTab.type = "button"; noteTab.id = "mode-note";
    replyTab.addEventListener("click", function () { setMode("reply"); });
    noteTab.addEventListener("click", function () { setMode("note"); });
    modes.appendChild(replyTab); modes.appendChild(noteTab);
    modes.appendChild(el("span", "hint", "Ctrl+Enter sends · Alt+N note · / canned"));
    composer.appendChild(modes);
    var row = el("div", "row");
    var box = el("textarea"); box.id = "reply-text";
    var then = el("select"); then.id = "reply-then"; then.title = "Status after sending";
    [["", "Keep status"], ["pending", "Then pending"], ["solved", "Then solved"]].forEach(function (o) {
      var option = el("option", null, o[1]); option.value = o[0]; then.appendChild(option);
    });
    var send = el("button", "primary", "Send"); send.type = "submit"; send.id = "reply-send";
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
    var t = ticket();
    if (mode === "reply" && !canReply(t)) { T.toast("Claim the ticket to reply to the customer", "info"); return; }
    state.mode = mode;
    applyMode($("composer"));
    $("reply-text").focus();
  }

  /* Shows the composer for state.mode; reply mode only where the agent may reply. */
  function applyMode(composer) {
    if (!composer) return;
    var replyAllowed = canReply(ticket()), replyTab = composer.querySelector("#mode-reply");
    if (!replyAllowed) state.mode = "note";
    replyTab.disabled = !replyAllowed;
    replyTab.title = replyAllowed ? "" : "Claim the ticket to reply";
    var note = state.mode === "note";
    composer.classList.toggle("note-mode", note);
    composer.querySelector("#mode-reply").classList.toggle("active", !note);
    composer.querySelector("#mode-note").classList.toggle("active", note);
    composer.querySelector("#reply-then").hidden = note;
    composer.querySelector("#reply-send").textContent = note ? "Add note" : "Send";
    composer.querySelector("#reply-text").placeholder = note
      ? "Internal note: only agents see this"
      : "Reply to the customer (Ctrl+Enter sends, / for canned responses)";
  }

  function submitComposer() {
    var box = $("reply-text"), text = box.value.trim();
    if (!text) return;
    var t = ticket(), send = $("reply-send");
    send.disabled = true;
    var request = state.mode === "note"
      ? api("POST", AGENT + "/tickets/" + t.id + "/notes", { text: text }).then(function (note) { addNote(note); })
      : api("POST", AGENT + "/tickets/" + t.id + "/messages", replyBody(text)).then(function (message) {
          addMessage(message);
          var then = $("reply-then").value;
          if (then) return Promise.all([refreshCurrent(), loadQueue()]).then(function () { if (then === "solved") offerLabel(t); });
        });
    request.then(function () { box.value = ""; }, fail).then(function () { if ($("reply-send")) $("reply-send").disabled = false; });
  }

  function replyBody(text) {
    var body = { text: text }, then = $("reply-then").value;
    if (then) body.status = then;
    return body;
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
    var t = ticket();
    if (state.mode !== "reply" || !t || Date.now() - state.lastTypingSent < TYPING_SEND_INTERVAL) return;
    state.lastTypingSent = Date.now();
    state.socket.send({ type: "typing", conversation_id: t.conversation_id });
  }

  /* ---------- canned responses: "/" + shortcut ---------- */

  function loadCanned(ticketId) {
    state.canned = [];
    api("GET", AGENT + "/canned?ticket_id=" + ticketId)
      .then(function (list) { if (ticket() && ticket().id === ticketId) state.canned = list; })
      .catch(function () {});
  }

  /* The "/word" being typed just before the caret, or null. */
  function cannedQuery(box) {
    var before = box.value.slice(0, box.selectionStart);
    var match = /(^|\s)\/([\w-]*)$/.exec(before);
    return match ? { text: match[2].toLowerCase(), start: before.length - match[2].length - 1 } : null;
  }

  function updateCannedMenu() {
    var box = $("reply-text"), menu = $("canned-menu"), query = cannedQuery(box);
    menu.textContent = "";
    var matches = !query ? [] : state.canned.filter(function (c) {
      return c.shortcut.toLowerCase().indexOf(query.text) === 0 || c.title.toLowerCase().indexOf(query.text) >= 0;
    }).slice(0, 8);
    menu.hidden = !matches.length;
    matches.forEach(function (c, i) {
      var option = el("div", "option" + (i === 0 ? " selected" : ""));
      option.setAttribute("data-canned-id", c.id);
      option.appendChild(el("b", null, "/" + c.shortcut));
      option.appendChild(document.createTextNode(c.title + " (" + c.scope + ")"));
      option.appendChild(el("small", null, c.rendered || c.body));
      option.addEventListener("mousedown", function (e) { e.preventDefault(); insertCanned(c); });
      menu.appendChild(option);
    });
  }

  function moveCannedSelection(offset) {
    var options = $("canned-menu").querySelectorAll(".option"), index = 0;
    Array.prototype.forEach.call(options, function (o, i) { if (o.classList.contains("selected")) index = i; });
    options[index].classList.remove("selected");
    options[(index + offset + options.length) % options.length].classList.add("selected");
  }

  function insertCanned(c) {
    var box = $("reply-text"), query = cannedQuery(box);
    var text = c.rendered || c.body;
    var start = query ? query.start : box.selectionStart, end = box.selectionStart;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + text.length;
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
    [["details", "Details"], ["history", "History"], ["customer", "Customer"]].forEach(function (tab) {
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
    var t = ticket();
    body.appendChild(el("h3", null, "Ticket"));
    var next = [t.status].concat(TRANSITIONS[t.status] || []);
    var status = labelled(body, "Status", select("field-status", next.map(function (s) { return [s, STATUS_LABELS[s] || s]; }), t.status));
    status.addEventListener("change", function () {
      var target = status.value;
      var done = target === "solved" ? solve() : post("", { status: target }, "PATCH");
      done.catch(function (err) { status.value = t.status; fail(err); });
    });
    var priority = labelled(body, "Priority", select("field-priority", PRIORITIES.map(function (p) { return [p, p]; }), t.priority));
    priority.addEventListener("change", function () { post("", { priority: priority.value }, "PATCH").catch(fail); });
    var category = labelled(body, "Category", el("input")); category.id = "field-category"; category.value = t.category || "";
    var tags = labelled(body, "Tags (comma-separated)", el("input")); tags.id = "field-tags"; tags.value = (t.tags || []).join(", ");
    var save = el("button", "secondary", "Save category and tags"); save.type = "button"; save.id = "save-fields";
    save.addEventListener("click", function () {
      var list = tags.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
      post("", { category: category.value.trim(), tags: list }, "PATCH").catch(fail);  // "" clears it
    });
    body.appendChild(el("div", "inline")).appendChild(save);

    var watching = (t.watcher_ids || []).indexOf(state.me.id) >= 0;
    var watch = el("button", "secondary", watching ? "Unwatch" : "Watch"); watch.type = "button"; watch.id = "watch";
    watch.title = (t.watcher_ids || []).length + " watching";
    watch.addEventListener("click", function () { post("/watch", undefined, watching ? "DELETE" : "POST").catch(fail); });
    body.appendChild(el("div", "inline")).appendChild(watch);

    renderTransfer(body, t);
    if (can("tickets.assign")) renderAssign(body, t);
    renderMerge(body, t);
  }

  function renderTransfer(body, t) {
    body.appendChild(el("h3", null, "Transfer to a team"));
    if (!state.directory.teams.length) { body.appendChild(el("small", null, "No teams are set up.")); return; }
    var teams = state.directory.teams.map(function (team) { return [team.id, team.name]; });
    var team = labelled(body, "Team", select("transfer-team", teams, t.team_id));
    var note = labelled(body, "Note for the team", el("textarea")); note.id = "transfer-note"; note.rows = 2;
    var go = el("button", "secondary", "Transfer"); go.type = "button"; go.id = "transfer";
    go.addEventListener("click", function () {
      post("/transfer", { team_id: Number(team.value), note: note.value.trim() }).catch(fail);
    });
    body.appendChild(el("div", "inline")).appendChild(go);
  }

  function renderAssign(body, t) {
    body.appendChild(el("h3", null, "Assignee"));
    var agents = [["", "Nobody (back to the queue)"]].concat(state.directory.agents.map(function (a) {
      return [a.id, a.display_name + " (" + a.status + ")"];
    }));
    var who = labelled(body, "Agent", select("assign-agent", agents, t.assignee_id || ""));
    var go = el("button", "secondary", "Assign"); go.type = "button"; go.id = "assign";
    go.addEventListener("click", function () {
      post("/assign", { assignee_id: who.value ? Number(who.value) : null, team_id: t.team_id }).catch(fail);
    });
    body.appendChild(el("div", "inline")).appendChild(go);
  }

  function renderMerge(body, t) {
    body.appendChild(el("h3", null, "Merge duplicate"));
    var into = labelled(body, "Merge this ticket into #", el("input")); into.id = "merge-into"; into.type = "number"; into.min = "1";
    var go = el("button", "secondary", "Merge"); go.type = "button"; go.id = "merge";
    go.addEventListener("click", function () {
      var target = Number(into.value);
      if (!target || !window.confirm("Merge #" + t.id + " into #" + target + "? This ticket will be closed.")) return;
      api("POST", AGENT + "/tickets/" + t.id + "/merge", { into_ticket_id: target })
        .then(function (merged) { loadQueue(); return openTicket(merged.id); }).catch(fail);
    });
    body.appendChild(el("div", "inline")).appendChild(go);
  }

  function renderHistory(body) {
    var history = state.current.history || [];
    if (!history.length) body.appendChild(el("div", "empty", "No changes yet."));
    history.slice().reverse().forEach(function (h) {
      var item = el("div", "history-item");
      item.appendChild(el("b", null, T.humanize(h.action)));
      historyLines(h).forEach(function (line) { item.appendChild(el("div", null, line)); });
      if (h.note) item.appendChild(el("div", null, "“" + h.note + "”"));
      item.appendChild(el("small", null, (h.actor_name || "System") + " · " + T.formatTime(h.created_at)));
      body.appendChild(item);
    });
  }

  /* "status: new → open", one line per field that changed. */
  function historyLines(h) {
    var isObject = function (v) { return v !== null && typeof v === "object" && !Array.isArray(v); };
    if (!isObject(h.before) && !isObject(h.after)) {
      if (h.before == null && h.after == null) return [];
      return [shown(h.action, h.before) + " → " + shown(h.action, h.after)];
    }
    var before = isObject(h.before) ? h.before : {}, after = isObject(h.after) ? h.after : {};
    var keys = Object.keys(before).concat(Object.keys(after).filter(function (k) { return !(k in before); }));
    return keys.filter(function (k) { return JSON.stringify(before[k]) !== JSON.stringify(after[k]); })
      .map(function (k) {
        var label = T.humanize(k.replace(/_id$/, ""));
        return label + ": " + (k in before ? shown(k, before[k]) + " → " : "") + shown(k, after[k]);
      });
  }

  /* A history value for people: agent and team ids by name. */
  function shown(field, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (Array.isArray(value)) return value.join(", ") || "—";
    if (typeof value === "object") return JSON.stringify(value);
    var named = function (list, label) {
      var hit = list.filter(function (x) { return x.id === value; })[0];
      return hit ? hit[label] : "#" + value;
    };
    if (/(^|_)(assignee|user|agent)(_id)?$/.test(field)) return named(state.directory.agents, "display_name");
    if (/(^|_)team(_id)?$/.test(field)) return named(state.directory.teams, "name");
    return T.humanize(value);
  }

  function renderCustomer(body) {
    var c = state.current.conversation, d = state.current;
    body.appendChild(el("h3", null, "Customer"));
    body.appendChild(el("div", null, c.customer_name || "Visitor (no name given)"));
    body.appendChild(el("div", null, c.customer_email || "No e-mail"));
    body.appendChild(el("small", null, "Channel: " + c.channel + " · conversation " + c.status));
    if (d.csat) {
      body.appendChild(el("h3", null, "Rating"));
      var box = el("div", "csat-box"); box.id = "csat";
      box.appendChild(el("span", "stars", "★".repeat(d.csat.score) + "☆".repeat(5 - d.csat.score)));
      box.appendChild(el("span", null, " " + d.csat.score + "/5"));
      if (d.csat.comment) box.appendChild(el("div", null, "“" + d.csat.comment + "”"));
      box.appendChild(el("small", null, T.formatTime(d.csat.created_at)));
      body.appendChild(box);
    }
    body.appendChild(el("h3", null, "Previous conversations"));
    var previous = d.previous_conversations || [];
    if (!previous.length) body.appendChild(el("small", null, "None."));
    previous.forEach(function (p) {
      var item = el("div", "prev-item");
      var title = el(p.ticket_id ? "a" : "span", null, (p.ticket_id ? "#" + p.ticket_id + " " : "") + (p.subject || "Conversation"));
      if (p.ticket_id) { title.href = "#"; title.addEventListener("click", function (e) { e.preventDefault(); openTicket(p.ticket_id); }); }
      item.appendChild(title);
      item.appendChild(el("small", null, T.humanize(p.status) + " · " + T.formatTime(p.created_at)));
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
    var t = ticket();
    var here = t && (ev.conversation_id === t.conversation_id || ev.ticket_id === t.id);
    switch (ev.type) {
      case "message.created":
        if (here) {
          addMessage(ev.message);
          if (ev.message.sender_type === "customer") { state.typingUntil[ev.conversation_id] = 0; $("typing").textContent = ""; }
        }
        if (state.tickets.some(function (x) { return x.conversation_id === ev.conversation_id; })) soon("queue", loadQueue);
        break;
      case "note.created":
        if (here) addNote(ev.note);
        break;
      case "typing":
        if (ev.sender_type === "customer") { showTyping(ev.conversation_id, "Customer is typing…"); renderQueue(); }
        break;
      case "queue.changed": case "conversation.status": case "ticket.updated":
        soon("queue", loadQueue);
        if (here) soon("ticket", refreshCurrent);
        break;
      case "notification":
        soon("notifications", loadNotifications);
        break;
      case "presence.changed":
        if (ev.user_id === state.me.id) { $("presence").value = ev.status; $("presence").className = ev.status; }
        break;
    }
  }

  /* ---------- presence ---------- */

  function bindPresence() {
    var picker = $("presence");
    api("GET", AGENT + "/presence/me").then(function (p) {
      picker.hidden = false; picker.value = p.status; picker.className = p.status;
      picker.title = "Load " + p.load + " of " + p.capacity;
    }).catch(function () {});
    picker.addEventListener("change", function () {
      api("PUT", AGENT + "/presence/me", { status: picker.value })
        .then(function (p) { picker.className = p.status; picker.title = "Load " + p.load + " of " + p.capacity; loadQueue(); })
        .catch(fail);
    });
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
    if (!state.notifications.length) panel.appendChild(el("div", "empty", "No notifications."));
    state.notifications.forEach(function (n) {
      var item = el("div", "item" + (n.read_at ? "" : " unread"), n.text || T.humanize(n.kind));
      item.appendChild(el("small", null, T.humanize(n.kind) + (n.ticket_id ? " · #" + n.ticket_id : "") + " · " + T.formatTime(n.created_at)));
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
    fillTeams($("nt-team"), "Route automatically");
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
    api("POST", AGENT + "/tickets", body).then(function (t) {
      $("new-ticket").reset();
      $("new-ticket-dialog").close();
      setView("mine");
      openTicket(t.id);
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
      if (!items.length) list.appendChild(el("div", "empty", "No canned responses yet."));
      items.forEach(function (c) { list.appendChild(cannedItem(c)); });
    }).catch(fail);
  }

  function cannedItem(c) {
    var item = el("div", "canned-item"), text = el("div");
    text.appendChild(el("b", null, "/" + c.shortcut + " "));
    text.appendChild(document.createTextNode(c.title + " · " + (c.scope === "team" ? "team " + teamName(c.team_id) : c.scope)));
    text.appendChild(el("small", null, c.body));
    item.appendChild(text);
    var remove = el("button", "secondary", "Delete"); remove.type = "button";
    remove.addEventListener("click", function () {
      if (!window.confirm("Delete /" + c.shortcut + "?")) return;
      api("DELETE", AGENT + "/canned/" + c.id).then(function () { loadCannedList(); reloadCanned(); }).catch(fail);
    });
    item.appendChild(remove);
    return item;
  }

  function teamName(id) {
    var team = state.directory.teams.filter(function (t) { return t.id === id; })[0];
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
      var actions = {
        "?": function () { $("help-overlay").hidden = false; },
        j: function () { step(1); }, k: function () { step(-1); },
        "1": function () { setView("queue"); }, "2": function () { setView("mine"); }, "3": function () { setView("all"); },
        c: function () { if ($("claim")) $("claim").click(); },
        r: function () { if ($("reply-text")) $("reply-text").focus(); }
      };
      if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
    });
  }

  T.startWithLogin(start);
})();
