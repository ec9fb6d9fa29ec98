/* Shared by the agent console and the supervisor page: API calls, DOM helpers, the login
 * form and the live socket. Every piece of data is set with textContent, never innerHTML. */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var err = new Error(data.message || ("HTTP " + response.status));
          err.status = response.status;
          throw err;
        }
        return data;
      });
    });
  }

  /* "4 min", "1 h 05 min", "overdue 12 min". */
  function formatDuration(seconds) {
    var overdue = seconds < 0, s = Math.abs(Math.round(seconds));
    var text;
    if (s < 60) text = s + " s";
    else if (s < 3600) text = Math.round(s / 60) + " min";
    else if (s < 86400) text = Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
    else text = Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
    return overdue ? "overdue " + text : text;
  }

  function formatTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function humanize(value) { return value ? String(value).replace(/_/g, " ") : ""; }

  /* A badge for a ticket's SLA, or null when no clock runs. Time left counts down from the
   * wall-clock due time, so a page left open stays right between refreshes. */
  function slaBadge(sla) {
    if (!sla || sla.seconds_left === null || sla.seconds_left === undefined) return null;
    var left = sla.seconds_left, state = sla.state;
    if (!sla.paused && sla.next_due_at) left = (Date.parse(sla.next_due_at) - Date.now()) / 1000;
    if (left < 0) state = "breached";
    var label = sla.paused ? "SLA paused" : "SLA " + formatDuration(left) + (left >= 0 ? " left" : "");
    var badge = el("span", "badge sla sla-" + (sla.paused ? "paused" : state), label);
    badge.title = "Next due: " + formatTime(sla.next_due_at);
    return badge;
  }

  function toast(message, kind) {
    var box = $("toasts");
    if (!box) { box = el("div"); box.id = "toasts"; document.body.appendChild(box); }
    var item = el("div", "toast " + (kind || "error"), message);
    box.appendChild(item);
    setTimeout(function () { if (item.parentNode) item.parentNode.removeChild(item); }, 5000);
  }

  /* The login form (#login) shows until /auth/me answers; then onUser(me) runs. */
  function startWithLogin(onUser) {
    var form = $("login");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { email: $("email").value, password: $("password").value };
      if ($("totp").value) body.totp_code = $("totp").value;
      api("POST", "/api/v1/auth/login", body)
        .then(function (r) { enter(r.user); })
        .catch(function (err) {
          if (/totp|code/i.test(err.message)) $("totp-row").hidden = false;
          $("login-error").textContent = err.message;
        });
    });
    $("logout").addEventListener("click", function () {
      api("POST", "/api/v1/auth/logout").then(function () { location.reload(); });
    });
    function enter(me) {
      form.hidden = true; $("app").hidden = false; $("logout").hidden = false;
      $("who").textContent = me.display_name + " (" + me.role + ")";
      onUser(me);
    }
    api("GET", "/api/v1/auth/me").then(enter).catch(function () { form.hidden = false; $("email").focus(); });
  }

  /* The agent socket; reconnects with backoff (0.5 s doubling to 15 s) and calls onReconnect
   * so the page re-fetches what it may have missed while disconnected. */
  function liveSocket(onEvent, onReconnect) {
    var attempt = 0, socket = null, everOpened = false;
    function open() {
      socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/api/v1/agent/ws");
      socket.onopen = function () {
        document.body.setAttribute("data-live", "true");
        if (everOpened && onReconnect) onReconnect();
        everOpened = true; attempt = 0;
      };
      socket.onmessage = function (e) {
        var event;
        try { event = JSON.parse(e.data); } catch (err) { return; }
        onEvent(event);
      };
      socket.onclose = function (e) {
        document.body.setAttribute("data-live", "false");
        if (e.code === 4401) { location.reload(); return; }  // session ended: back to the login
        var delay = Math.min(15000, 500 * Math.pow(2, attempt++));
        setTimeout(open, delay);
      };
    }
    open();
    return {
      send: function (payload) {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
      }
    };
  }

  window.Tandem = {
    $: $, el: el, api: api, formatDuration: formatDuration, formatTime: formatTime,
    humanize: humanize, slaBadge: slaBadge, toast: toast, startWithLogin: startWithLogin,
    liveSocket: liveSocket
  };
})();
