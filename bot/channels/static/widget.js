/* Tandem chat widget. Embed with:
 *   <script src="https://YOUR-TANDEM/widget/widget.js" data-tandem-url="https://YOUR-TANDEM" defer></script>
 * The conversation id and token live in localStorage, so a page reload resumes the chat.
 * Identity verification: add data-customer-id="<your id for the customer>" and
 * data-customer-signature="<hex HMAC-SHA256 of that id with TANDEM_WIDGET_IDENTITY_SECRET,
 * computed on your server>"; the widget sends both with every request.
 * Language (English or Simplified Chinese): data-locale="zh-CN" on the script tag, or
 * window.TandemWidgetOptions = { locale: "zh-CN" } set before it; else the page's
 * <html lang>; else the browser's languages. Its words come from <tandem>/widget/i18n/<locale>.json;
 * the conversation is started in that language, so the bot answers in it.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = (script && script.getAttribute("data-tandem-url")) || window.location.origin;
  var customerId = script && script.getAttribute("data-customer-id");
  var customerSignature = script && script.getAttribute("data-customer-signature");
  var options = window.TandemWidgetOptions || {};
  var SUPPORTED = ["en", "zh-CN"];
  var locale = chooseLocale();
  var messages = {};
  var storageKey = "tandem.conversation." + base + (customerId ? "." + customerId : "");
  var state = { id: null, token: null, socket: null, lastId: 0, seen: {}, status: "bot", retry: 0,
                lastTypingSent: 0, typingTimer: null, queueTimer: null, waiting: false,
                lastQuestion: null };
  var QUEUE_POLL_MS = 15000, TYPING_SEND_MS = 2000, TYPING_SHOWN_MS = 4000;

  var css = [
    ".tdm-launcher{position:fixed;right:24px;bottom:24px;width:56px;height:56px;border-radius:50%;border:0;background:#2456d6;color:#fff;display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    ".tdm-panel{position:fixed;right:24px;bottom:92px;width:360px;max-width:calc(100vw - 32px);height:520px;max-height:calc(100vh - 120px);background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;z-index:2147483000}",
    ".tdm-panel.tdm-open{display:flex}",
    ".tdm-head{background:#2456d6;color:#fff;padding:12px 16px}.tdm-head b{display:block;font-size:15px}.tdm-head small{opacity:.85}",
    ".tdm-log{flex:1;overflow-y:auto;padding:12px;background:#f5f7fb}",
    ".tdm-msg{max-width:82%;margin:6px 0;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".tdm-customer{margin-left:auto;background:#2456d6;color:#fff;border-bottom-right-radius:4px}",
    ".tdm-bot,.tdm-agent{background:#fff;border:1px solid #e1e5ee;border-bottom-left-radius:4px}",
    ".tdm-agent{border-color:#9fd3b0;background:#effaf2}",
    ".tdm-system{margin:8px auto;text-align:center;color:#5b6270;font-size:12.5px;background:none}",
    ".tdm-who{display:block;font-size:11px;color:#6b7280;margin-bottom:2px}",
    ".tdm-msg a{color:inherit;font-weight:600}",
    ".tdm-form{display:flex;border-top:1px solid #e1e5ee}.tdm-form textarea{flex:1;border:0;padding:12px;resize:none;font:inherit;outline:none}",
    ".tdm-form button{border:0;background:#fff;color:#2456d6;font-weight:600;padding:0 16px;cursor:pointer}",
    ".tdm-status{font-size:12px;color:#6b7280;padding:4px 12px;background:#f5f7fb}",
    ".tdm-typing{font-size:12px;color:#2456d6;font-style:italic;padding:0 12px;min-height:0;background:#f5f7fb}",
    ".tdm-offline{margin:0;padding:10px 12px;background:#fff7ed;border-top:1px solid #fed7aa;font-size:13px}",
    ".tdm-offline form{display:flex;gap:6px;margin-top:6px}.tdm-offline input{flex:1;padding:6px 8px;border:1px solid #d1d5db;border-radius:6px;font:inherit}",
    ".tdm-offline button,.tdm-csat .tdm-rate{border:0;background:#2456d6;color:#fff;border-radius:6px;padding:6px 10px;cursor:pointer;font:inherit}",
    ".tdm-csat{margin:8px auto;padding:10px;background:#fff;border:1px solid #e1e5ee;border-radius:12px;text-align:center;max-width:92%}",
    ".tdm-stars{display:flex;justify-content:center;gap:4px;margin:6px 0}",
    ".tdm-star{border:0;background:none;font-size:26px;line-height:1;color:#d1d5db;cursor:pointer;padding:0 2px}",
    ".tdm-star.tdm-on{color:#f59e0b}",
    ".tdm-csat textarea{width:100%;box-sizing:border-box;border:1px solid #d1d5db;border-radius:6px;padding:6px;font:inherit;resize:none;margin-bottom:6px}",
    ".tdm-thanks{color:#166534;font-weight:600}",
    ".tdm-kb-rate{margin-top:6px;padding-top:6px;border-top:1px solid #eef0f4;font-size:12.5px;color:#5b6270;white-space:normal}",
    ".tdm-kb-rate button{border:1px solid #d1d5db;background:#fff;border-radius:12px;padding:2px 10px;margin-left:6px;cursor:pointer;font:inherit;color:#1f2937}",
    ".tdm-kb-rate button:hover{border-color:#2456d6;color:#2456d6}",
    ".tdm-kb-missing{display:flex;gap:6px;margin-top:6px}.tdm-kb-missing input{flex:1;min-width:0;padding:4px 8px;border:1px solid #d1d5db;border-radius:6px;font:inherit}",
    ".tdm-kb-missing button{margin-left:0;background:#2456d6;color:#fff;border-color:#2456d6}"
  ].join("\n");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* ---- language: the same rule as the console's (zh, zh-Hans, zh-TW... -> zh-CN; else en) ---- */

  function matchLocale(tag) {
    if (typeof tag !== "string" || !tag.trim()) return null;
    var wanted = tag.trim().replace(/_/g, "-").toLowerCase(), language = wanted.split("-")[0];
    for (var i = 0; i < SUPPORTED.length; i++) if (SUPPORTED[i].toLowerCase() === wanted) return SUPPORTED[i];
    for (var j = 0; j < SUPPORTED.length; j++) if (SUPPORTED[j].toLowerCase().split("-")[0] === language) return SUPPORTED[j];
    return null;
  }

  // The host page's own choice decides (an unsupported one reads in English); without one,
  // the first of the browser's languages the widget has.
  function chooseLocale() {
    var chosen = (script && script.getAttribute("data-locale")) || options.locale || document.documentElement.getAttribute("lang");
    if (chosen) return matchLocale(chosen) || "en";
    var languages = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (var i = 0; i < languages.length; i++) { var hit = matchLocale(languages[i]); if (hit) return hit; }
    return "en";
  }

  // "{name} is typing…" with {name: "Alex"}; a key the catalogue lacks shows as itself.
  function t(key, params) {
    var text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return params[name] !== undefined && params[name] !== null ? String(params[name]) : whole;
    });
  }

  function fetchCatalogue(tag) {
    return fetch(base + "/widget/i18n/" + tag + ".json").then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  // The chosen language's words, else English's.
  function loadMessages() {
    return fetchCatalogue(locale).catch(function () {
      if (locale === "en") throw new Error("no catalogue");
      return fetchCatalogue("en");
    }).then(function (data) { messages = data || {}; }, function () { messages = {}; });
  }

  // Drawn once the words are in (loadMessages, at the end of this script).
  var launcher, panel, log, welcome, statusLine, typingLine, offline, form, input, send;
  var openWhenReady = false;

  function build() {
    var style = el("style"); style.textContent = css; document.head.appendChild(style);
    launcher = el("button", "tdm-launcher");
    // An inline icon: emoji fonts are not installed everywhere the widget is embedded.
    launcher.innerHTML = '<svg width="26" height="26" viewBox="0 0 24 24" fill="none" aria-hidden="true">' +
      '<path d="M4 5h16v11H9l-5 4V5z" stroke="#fff" stroke-width="2" stroke-linejoin="round"/></svg>';
    launcher.setAttribute("aria-label", t("launcher.open")); launcher.id = "tandem-launcher";
    panel = el("div", "tdm-panel"); panel.id = "tandem-widget"; panel.lang = locale;
    var head = el("div", "tdm-head");
    head.appendChild(el("b", null, t("head.title")));
    head.appendChild(el("small", null, t("head.subtitle")));
    log = el("div", "tdm-log"); log.id = "tandem-log"; log.setAttribute("aria-live", "polite");
    // A local greeting (not stored): it disappears once the conversation has messages.
    welcome = el("div", "tdm-msg tdm-system tdm-welcome", t("welcome"));
    log.appendChild(welcome);
    statusLine = el("div", "tdm-status"); statusLine.id = "tandem-status";
    typingLine = el("div", "tdm-typing"); typingLine.id = "tandem-typing"; typingLine.setAttribute("aria-live", "polite");
    offline = el("div", "tdm-offline"); offline.id = "tandem-offline"; offline.style.display = "none";
    form = el("form", "tdm-form");
    input = el("textarea"); input.rows = 2; input.placeholder = t("input.placeholder");
    input.id = "tandem-input"; input.maxLength = 4000;
    send = el("button", null, t("send")); send.type = "submit"; send.id = "tandem-send";
    form.appendChild(input); form.appendChild(send);
    panel.appendChild(head); panel.appendChild(log); panel.appendChild(typingLine); panel.appendChild(statusLine);
    panel.appendChild(offline); panel.appendChild(form);
    document.body.appendChild(launcher); document.body.appendChild(panel);

    launcher.addEventListener("click", function () {
      panel.classList.toggle("tdm-open");
      if (panel.classList.contains("tdm-open")) { ensureConversation(); input.focus(); }
    });
    bindForm();
    if (openWhenReady) launcher.click();
  }

  function setStatus(text) { statusLine.textContent = text || ""; }

  function render(message) {
    if (state.seen[message.id]) return;
    state.seen[message.id] = true;
    state.lastId = Math.max(state.lastId, message.id);
    if (welcome.parentNode) welcome.parentNode.removeChild(welcome);
    var node = el("div", "tdm-msg tdm-" + message.sender_type);
    node.setAttribute("data-sender", message.sender_type);
    if (message.sender_type === "agent") {
      node.appendChild(el("span", "tdm-who", (message.meta && message.meta.agent_name) || t("who.agent")));
    } else if (message.sender_type === "bot") {
      node.appendChild(el("span", "tdm-who", t("who.bot")));
    }
    node.appendChild(document.createTextNode(message.text));
    var article = message.meta && message.meta.article;
    if (article && article.url) {
      var link = el("a", null, t("article.read", { title: article.title }));
      link.href = base + article.url; link.target = "_blank"; link.rel = "noopener";
      node.appendChild(el("br")); node.appendChild(link);
    }
    if (message.sender_type === "customer") state.lastQuestion = message.text;
    if (message.sender_type === "bot" && message.meta && message.meta.kind === "answer" && state.lastQuestion) {
      node.appendChild(answerRating(message, state.lastQuestion));
    }
    log.appendChild(node);
    if (message.sender_type === "agent") { showTyping(null); if (state.waiting) refreshQueue(); }  // someone has the chat now
    if (message.meta && message.meta.kind === "csat_request") log.appendChild(ratingPrompt(message.meta.ticket_id));
    log.scrollTop = log.scrollHeight;
  }

  function showConversationStatus(status) {
    if (!status) return;
    var changed = state.status !== status;
    state.status = status;
    if (status === "human") { if (changed) setStatus(t("status.connecting")); }  // refreshQueue says more
    else if (status === "resolved") setStatus(t("status.resolved"));
    else setStatus("");
    if (changed || status !== "human") refreshQueue();
  }

  /* ---- typing: "<agent> is typing…" in, throttled hints out ---- */

  function showTyping(name) {
    clearTimeout(state.typingTimer);
    typingLine.textContent = name ? t("typing", { name: name }) : "";
    if (name) state.typingTimer = setTimeout(function () { typingLine.textContent = ""; }, TYPING_SHOWN_MS);
  }

  function sendTyping() {
    // Only people read typing hints; the bot does not need them.
    if (state.status !== "human" || !state.socket || state.socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - state.lastTypingSent < TYPING_SEND_MS) return;
    state.lastTypingSent = Date.now();
    state.socket.send(JSON.stringify({ type: "typing" }));
  }

  /* ---- the queue: place and wait while nobody has the chat; offline notice ---- */

  function refreshQueue() {
    clearTimeout(state.queueTimer);
    if (!state.id || state.status !== "human") { state.waiting = false; offline.style.display = "none"; return; }
    api("GET", "/api/v1/conversations/" + state.id + "/queue").then(function (q) {
      // Nobody has the chat yet: keep the place (or the offline notice) fresh.
      state.waiting = q.status === "new";
      var away = state.waiting && (q.reply_by_email || q.open_now === false);
      if (state.waiting) state.queueTimer = setTimeout(refreshQueue, QUEUE_POLL_MS);
      if (away) {
        setStatus("");  // the offline notice says how we follow up
      } else if (q.position !== null && q.position !== undefined) {
        setStatus(q.eta_seconds
          ? t("queue.positionWait", { position: q.position, minutes: Math.max(1, Math.round(q.eta_seconds / 60)) })
          : t("queue.position", { position: q.position }));
      } else {
        setStatus(t("queue.assigned"));
      }
      showOffline(q, away);
    }, function () { setStatus(t("queue.unknown")); });
  }

  function showOffline(q, away) {
    offline.textContent = "";
    offline.style.display = away ? "" : "none";
    if (!away) return;
    // When the team is back, in the customer's language and the browser's time zone.
    var when = q.next_open_at ? new Date(q.next_open_at).toLocaleString(locale, { weekday: "short", hour: "2-digit", minute: "2-digit" }) : null;
    if (q.email_known) {
      offline.appendChild(document.createTextNode(when ? t("offline.byEmailBack", { time: when }) : t("offline.byEmail")));
      return;
    }
    offline.appendChild(document.createTextNode(when ? t("offline.leaveEmailBack", { time: when }) : t("offline.leaveEmail")));
    var contact = el("form"); contact.id = "tandem-contact";
    var email = el("input"); email.type = "email"; email.required = true; email.placeholder = t("email.placeholder"); email.id = "tandem-email";
    var save = el("button", null, t("send")); save.type = "submit";
    contact.appendChild(email); contact.appendChild(save);
    contact.addEventListener("submit", function (e) {
      e.preventDefault();
      api("PUT", "/api/v1/conversations/" + state.id + "/contact", { email: email.value.trim() })
        .then(function () { offline.textContent = t("contact.thanks", { email: email.value.trim() }); })
        .catch(function (err) { setStatus(t("error.notSaved", { error: err.message })); });
    });
    offline.appendChild(contact);
  }

  /* ---- CSAT: five stars and an optional comment under the rating request ---- */

  function ratedKey() { return storageKey + ".rated"; }
  function alreadyRated(ticketId) {
    try { return (JSON.parse(localStorage.getItem(ratedKey()) || "[]")).indexOf(ticketId) >= 0; } catch (e) { return false; }
  }
  function rememberRated(ticketId) {
    var rated;
    try { rated = JSON.parse(localStorage.getItem(ratedKey()) || "[]"); } catch (e) { rated = []; }
    rated.push(ticketId); localStorage.setItem(ratedKey(), JSON.stringify(rated));
  }

  function thanks(box) { box.textContent = ""; box.appendChild(el("div", "tdm-thanks", t("csat.thanks"))); }

  function ratingPrompt(ticketId) {
    var box = el("div", "tdm-csat"); box.setAttribute("data-ticket-id", ticketId);
    if (alreadyRated(ticketId)) { thanks(box); return box; }
    var chosen = 0, stars = el("div", "tdm-stars"), buttons = [];
    for (var score = 1; score <= 5; score++) {
      var star = el("button", "tdm-star", "\u2605"); star.type = "button";
      star.setAttribute("data-score", score); star.setAttribute("aria-label", t("csat.star", { score: score }));
      star.addEventListener("click", pick(score));
      buttons.push(star); stars.appendChild(star);
    }
    var comment = el("textarea"); comment.rows = 2; comment.maxLength = 2000; comment.placeholder = t("csat.comment");
    comment.className = "tdm-comment";
    var submit = el("button", "tdm-rate", t("csat.send")); submit.type = "button"; submit.disabled = true;
    submit.addEventListener("click", function () {
      submit.disabled = true;
      var body = { score: chosen };
      if (comment.value.trim()) body.comment = comment.value.trim();
      api("POST", "/api/v1/conversations/" + state.id + "/csat", body)
        .then(function () { rememberRated(ticketId); thanks(box); })
        .catch(function (err) {
          if (err.status === 409) { rememberRated(ticketId); thanks(box); return; }  // rated already
          submit.disabled = false; setStatus(t("error.ratingNotSent", { error: err.message }));
        });
    });
    box.appendChild(stars); box.appendChild(comment); box.appendChild(submit);
    function pick(value) {
      return function () {
        chosen = value; submit.disabled = false;
        buttons.forEach(function (b, i) { b.classList.toggle("tdm-on", i < value); });
      };
    }
    return box;
  }

  /* ---- Knowledge-base answers: helpful / not helpful, and what was missing ---- */

  function kbRatedKey() { return storageKey + ".kb-rated"; }
  function kbRated() {
    try { return JSON.parse(localStorage.getItem(kbRatedKey()) || "[]"); } catch (e) { return []; }
  }

  function answerRating(message, question) {
    var box = el("div", "tdm-kb-rate"); box.setAttribute("data-message-id", message.id);
    if (kbRated().indexOf(message.id) >= 0) { box.textContent = t("kb.thanked"); return box; }
    box.appendChild(document.createTextNode(t("kb.question")));
    var yes = el("button", "tdm-helpful", t("kb.helpful")); yes.type = "button";
    var no = el("button", "tdm-not-helpful", t("kb.notHelpful")); no.type = "button";
    box.appendChild(yes); box.appendChild(no);
    var article = message.meta.article || {};
    function rate(helpful, comment) {
      var body = { query: question.slice(0, 1000), helpful: helpful, article_id: article.id || null };
      if (comment) body.comment = comment;
      return api("POST", "/api/v1/conversations/" + state.id + "/ratings", body).then(function () {
        var rated = kbRated(); rated.push(message.id); localStorage.setItem(kbRatedKey(), JSON.stringify(rated));
        box.textContent = helpful ? t("kb.glad") : t("kb.thanks");
      }, function (err) { setStatus(t("error.notSent", { error: err.message })); throw err; });
    }
    yes.addEventListener("click", function () { yes.disabled = no.disabled = true; rate(true).catch(function () { yes.disabled = no.disabled = false; }); });
    no.addEventListener("click", function () {
      yes.disabled = no.disabled = true;
      // The not-helpful rating waits for an optional word on what was missing.
      var missing = el("form", "tdm-kb-missing");
      var word = el("input"); word.maxLength = 500; word.placeholder = t("kb.missing.placeholder");
      word.className = "tdm-kb-comment"; word.setAttribute("aria-label", t("kb.missing.label"));
      var go = el("button", "tdm-kb-send", t("send")); go.type = "submit";
      missing.appendChild(word); missing.appendChild(go); box.appendChild(missing);
      missing.addEventListener("submit", function (e) {
        e.preventDefault(); go.disabled = true;
        rate(false, word.value.trim()).catch(function () { go.disabled = false; });
      });
      word.focus();
    });
    return box;
  }

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Conversation-Token"] = state.token;
    if (customerId) headers["X-Customer-Id"] = customerId;
    if (customerSignature) headers["X-Customer-Signature"] = customerSignature;
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        // A proxy's error page is not JSON: keep the status, not the parse error.
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) {
            var err = new Error(data.message || t("error.http", { status: r.status }));
            err.status = r.status; err.retryAfter = r.headers.get("Retry-After");
            throw err;
          }
          return data;
        });
      });
  }

  // A send that failed on the way (no answer, or 502/503/504) is sent again with the same
  // client_message_id: the server stores it once and returns the stored turn. Waits what
  // Retry-After says, else 1, 2, 4… s (up to 30 s), about two minutes in all.
  var SEND_ATTEMPTS = 8;
  function sendWithRetry(path, body, attempt) {
    attempt = attempt || 1;
    return api("POST", path, body).catch(function (err) {
      var retryable = !err.status || err.status === 502 || err.status === 503 || err.status === 504;
      if (!retryable || attempt >= SEND_ATTEMPTS) throw err;
      var seconds = parseFloat(err.retryAfter);
      var delay = (seconds >= 0 ? seconds * 1000 : 1000 * Math.pow(2, attempt - 1));
      delay = Math.min(30000, delay) * (0.8 + 0.4 * Math.random());  // spread a crowd's retries
      setStatus(t("status.sending"));
      return new Promise(function (resolve) { setTimeout(resolve, delay); })
        .then(function () { return sendWithRetry(path, body, attempt + 1); });
    });
  }

  function ensureConversation() {
    if (state.id) return Promise.resolve();
    var saved;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    if (saved && saved.id && saved.token) {
      state.id = saved.id; state.token = saved.token;
      return catchUp().then(connect, function () { localStorage.removeItem(storageKey); state.id = null; state.token = null; return ensureConversation(); });
    }
    var start = { channel: "widget", locale: locale };
    if (customerId) { start.external_id = customerId; start.identity_signature = customerSignature; }
    return api("POST", "/api/v1/conversations", start).then(function (c) {
      state.id = c.id; state.token = c.token;
      localStorage.setItem(storageKey, JSON.stringify({ id: c.id, token: c.token }));
      connect();
    });
  }

  function catchUp() {
    return api("GET", "/api/v1/conversations/" + state.id + "?after=" + state.lastId).then(function (c) {
      c.messages.forEach(render); showConversationStatus(c.status);
    });
  }

  function connect() {
    var url = base.replace(/^http/, "ws") + "/api/v1/conversations/" + state.id + "/ws?token=" + encodeURIComponent(state.token) +
      (customerId ? "&external_id=" + encodeURIComponent(customerId) + "&identity_signature=" + encodeURIComponent(customerSignature || "") : "");
    var socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = function () { state.retry = 0; panel.setAttribute("data-connected", "true"); catchUp(); };
    socket.onmessage = function (e) {
      var event = JSON.parse(e.data);
      if (event.type === "message.created") { render(event.message); showConversationStatus(event.conversation_status); }
      else if (event.type === "conversation.status") showConversationStatus(event.status);
      else if (event.type === "queue.changed") refreshQueue();
      else if (event.type === "typing" && event.sender_type === "agent") showTyping(event.name || t("who.agent"));
      else if (event.type === "error") setStatus(event.message);
      else if (event.type === "ack") { send.disabled = false; }
    };
    socket.onclose = function () {
      panel.setAttribute("data-connected", "false");
      state.socket = null;
      // Reconnect with backoff; meanwhile sends go over REST.
      var delay = Math.min(10000, 500 * Math.pow(2, state.retry++));
      setTimeout(function () { if (!state.socket) connect(); }, delay);
    };
  }

  function newClientId() {
    return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  function bindForm() {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      var clientId = newClientId();
      ensureConversation().then(function () {
        if (state.socket && state.socket.readyState === WebSocket.OPEN) {
          state.socket.send(JSON.stringify({ type: "message", text: text, client_message_id: clientId }));
        } else {
          // REST fallback, retried with the same idempotency key (stored once).
          sendWithRetry("/api/v1/conversations/" + state.id + "/messages", { text: text, client_message_id: clientId })
            .then(function (turn) { setStatus(""); render(turn.message); turn.replies.forEach(render); showConversationStatus(turn.conversation_status); })
            .catch(function (err) { setStatus(t("error.notSent", { error: err.message })); });
        }
      });
    });
    input.addEventListener("input", sendTyping);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
  }

  window.TandemWidget = {
    locale: locale,
    // Before the widget is drawn, it opens as soon as it is.
    open: function () {
      if (!panel) { openWhenReady = true; return; }
      if (!panel.classList.contains("tdm-open")) launcher.click();
    }
  };
  loadMessages().then(build);
})();
