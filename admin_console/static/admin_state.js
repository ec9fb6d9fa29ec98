/* The administration page's decisions and table cells, apart from the DOM so tests/frontend
 * can check them. */

/* Which sections the signed-in user sees: the second-factor enrolment alone while it is
 * required, else users and the audit trail by permission (the API checks them again). */
export function sectionsFor(me) {
  if (me.mfa_enrolment_required) return { enrol: true, users: false, audit: false };
  const perms = me.permissions || [];
  return { enrol: false, users: perms.indexOf("users.manage") >= 0, audit: perms.indexOf("audit.read") >= 0 };
}

/* The audit filters as a query: the form's non-empty fields, in the form's order. */
export function auditParams(entries) {
  const params = new URLSearchParams();
  for (const [key, value] of entries) if (value) params.set(key, value);
  return params;
}

export function auditLinks(params) {
  return { csv: "/api/v1/admin/audit/export?format=csv&" + params, json: "/api/v1/admin/audit/export?format=json&" + params };
}

export function userCells(u) {
  return [u.id, u.email, u.display_name, u.role, u.is_active ? "yes" : "no",
    u.totp_enabled ? "on" : "off", (u.team_ids || []).join(", ")];
}

/* An audit entry's cells: the plain ones, then before and after as JSON. */
export function auditCells(e) {
  return {
    plain: [e.id, e.created_at, e.actor_user_id, e.action, e.target, e.client_address],
    json: [e.before ? JSON.stringify(e.before) : "", e.after ? JSON.stringify(e.after) : ""]
  };
}
