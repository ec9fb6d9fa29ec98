/* The staff pages' DOM helpers, the shared login form and the live socket (console,
 * supervisor, ML and reports pages). Every piece of data is set with textContent, never
 * innerHTML. API calls go through api.js; text formatting is format.js; words come from the
 * catalogues through i18n.js. */
import { api, onUnauthorized } from "./api.js";
import { formatTime, slaView } from "./format.js";
import { adoptPreferences, has, languageName, locale, t, timeZone, useLocale } from "./i18n.js";

export function $(id) { return document.getElementById(id); }

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/* A badge for a ticket's SLA, or null when no clock runs. */
export function slaBadge(sla) {
  const view = slaView(sla);
  if (!view) return null;
  const badge = el("span", "badge sla sla-" + view.state, view.label);
  badge.title = t("sla.nextDue", { time: formatTime(view.dueAt) });
  return badge;
}

/* A badge for the customer's language ("zh-CN" -> "中文"), or null when it is not known. */
export function languageBadge(tag) {
  if (!tag) return null;
  const badge = el("span", "badge locale", languageName(tag));
  badge.setAttribute("data-locale", tag);
  return badge;
}

/* The header's language picker (#locale-picker, where the page has one): shows the page's
 * locale; a change is applied at once, saved for the next visit, and onChange(locale)
 * redraws what the page drew itself. */
export function localePicker(onChange) {
  const picker = $("locale-picker");
  if (!picker) return;
  picker.value = locale() || "en";
  picker.addEventListener("change", () => {
    useLocale(picker.value, true).then((chosen) => {
      picker.value = chosen;
      if (signedIn) {
        showWho(signedIn);
        // Kept on the account too, so every browser the person signs in on uses it.
        api("PUT", "/api/v1/auth/me/preferences", { locale: chosen, time_zone: timeZone() || null })
          .catch(fail);
      }
      if (onChange) onChange(chosen);
    });
  });
}

export function toast(message, kind) {
  let box = $("toasts");
  if (!box) { box = el("div"); box.id = "toasts"; document.body.appendChild(box); }
  const item = el("div", "toast " + (kind || "error"), message);
  box.appendChild(item);
  setTimeout(() => { if (item.parentNode) item.parentNode.removeChild(item); }, 5000);
}

/* The error's text for a toast or an error line. */
export function fail(err) { toast((err && err.message) || String(err)); }

let signedIn = null;  // the staff member the page shows, once logged in

function showWho(me) {
  // Built-in roles by their name in the catalogue; a custom role as it is called.
  const role = has("role." + me.role) ? t("role." + me.role) : me.role;
  $("who").textContent = t("header.who", { name: me.display_name, role });
}

/* The login form (#login) shows until /auth/me answers; then onUser(me) runs. Once in, a
 * 401 from the API (the session ended) reloads the page back to the form. */
export function startWithLogin(onUser) {
  const form = $("login");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { email: $("email").value, password: $("password").value };
    if ($("totp").value) body.totp_code = $("totp").value;
    api("POST", "/api/v1/auth/login", body)
      .then((r) => enter(r.user))
      .catch((err) => {
        if (err.field === "totp_code" || /totp|code/i.test(err.message)) $("totp-row").hidden = false;
        $("login-error").textContent = err.message;
      });
  });
  $("logout").addEventListener("click", () => {
    api("POST", "/api/v1/auth/logout").then(() => location.reload());
  });
  function enter(me) {
    form.hidden = true; $("app").hidden = false; $("logout").hidden = false;
    signedIn = me;
    onUnauthorized(() => location.reload());
    // The account's saved language and time zone, then the page (login answers no
    // preferences: they are read from /auth/me).
    const preferences = "locale" in me ? Promise.resolve(me) : api("GET", "/api/v1/auth/me");
    preferences.then(adoptPreferences).catch(() => false).then(() => {
      const picker = $("locale-picker");
      if (picker) picker.value = locale();
      showWho(me);
      onUser(me);
    });
  }
  api("GET", "/api/v1/auth/me").then(enter).catch(() => { form.hidden = false; $("email").focus(); });
}

/* The agent socket; reconnects with backoff (0.5 s doubling to 15 s) and calls onReconnect
 * so the page re-fetches what it may have missed while disconnected. */
export function liveSocket(onEvent, onReconnect) {
  let attempt = 0, socket = null, everOpened = false;
  function open() {
    socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/api/v1/agent/ws");
    socket.onopen = () => {
      document.body.setAttribute("data-live", "true");
      if (everOpened && onReconnect) onReconnect();
      everOpened = true; attempt = 0;
    };
    socket.onmessage = (e) => {
      let event;
      try { event = JSON.parse(e.data); } catch { return; }
      onEvent(event);
    };
    socket.onclose = (e) => {
      document.body.setAttribute("data-live", "false");
      if (e.code === 4401) { location.reload(); return; }  // session ended: back to the login
      const delay = Math.min(15000, 500 * Math.pow(2, attempt++));
      setTimeout(open, delay);
    };
  }
  open();
  return {
    send(payload) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
    }
  };
}

/* A table row from cells: strings, numbers or DOM nodes. */
export function row(cells) {
  const tr = el("tr");
  cells.forEach((cell) => {
    const td = el("td");
    if (cell instanceof Node) td.appendChild(cell);
    else td.textContent = cell === null || cell === undefined ? "" : String(cell);
    tr.appendChild(td);
  });
  return tr;
}

/* A table's body from rows, or one cell saying it is empty. */
export function fill(table, rows, emptyText, columns) {
  const body = (typeof table === "string" ? $(table) : table).querySelector("tbody");
  body.textContent = "";
  if (!rows.length) {
    const td = el("td", "empty", emptyText);
    td.colSpan = columns;
    body.appendChild(el("tr")).appendChild(td);
  }
  rows.forEach((r) => body.appendChild(r));
  return body;
}
