/* The administration page (/admin): its own login with the second-factor enrolment that
 * administrators must finish first, the users table and the audit trail with its exports.
 * Every piece of data comes from the admin API, which checks the caller's permissions. */
import { api, onUnauthorized } from "/console/static/api.js";
import { auditCells, auditLinks, auditParams, sectionsFor, userCells } from "./admin_state.js";

const $ = (id) => document.getElementById(id);

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
}

function show(id, on) { $(id).classList.toggle("hidden", !on); }

function start() {
  api("GET", "/api/v1/auth/me").then((me) => {
    show("login", false); show("logout", true); $("who").textContent = me.email;
    onUnauthorized(() => location.reload());  // the session ended: back to the login
    const sections = sectionsFor(me);
    show("enrol", sections.enrol);
    if (sections.users) { show("users-section", true); loadUsers(); }
    if (sections.audit) { show("audit-section", true); loadAudit(); }
  }).catch(() => show("login", true));
}

function loadUsers() {
  api("GET", "/api/v1/admin/users").then((users) => {
    const body = $("users"); body.textContent = "";
    users.forEach((u) => {
      const row = document.createElement("tr");
      userCells(u).forEach((v) => cell(row, v));
      body.appendChild(row);
    });
  }).catch(() => {});
}

function loadAudit() {
  const params = auditParams(new FormData($("audit-form")).entries());
  const links = auditLinks(params);
  $("export-csv").href = links.csv;
  $("export-json").href = links.json;
  api("GET", "/api/v1/admin/audit?" + params).then((page) => {
    $("audit-error").textContent = "";
    const body = $("audit"); body.textContent = "";
    page.entries.forEach((e) => {
      const row = document.createElement("tr"), cells = auditCells(e);
      cells.plain.forEach((v) => cell(row, v));
      cells.json.forEach((v) => cell(row, v, "json"));
      body.appendChild(row);
    });
  }).catch((err) => { $("audit-error").textContent = err.message; });
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = { email: $("email").value, password: $("password").value };
  if ($("totp").value) body.totp_code = $("totp").value;
  api("POST", "/api/v1/auth/login", body).then(start)
    .catch((err) => { $("login-error").textContent = err.message; });
});
$("logout").addEventListener("click", () => {
  api("POST", "/api/v1/auth/logout").then(() => location.reload());
});
$("enrol-start").addEventListener("click", () => {
  api("POST", "/api/v1/auth/totp/setup").then((r) => {
    $("secret").textContent = r.secret; $("uri").textContent = r.provisioning_uri; show("enrol-secret", true);
  }).catch((err) => { $("enrol-error").textContent = err.message; });
});
$("enrol-confirm").addEventListener("click", () => {
  api("POST", "/api/v1/auth/totp/enable", { code: $("enrol-code").value }).then((r) => {
    $("codes").textContent = r.recovery_codes.join("\n"); show("recovery", true); show("enrol-secret", false);
  }).catch((err) => { $("enrol-error").textContent = err.message; });
});
$("enrol-done").addEventListener("click", start);
$("audit-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadAudit(); });
start();
