"""Who may call what: the expected access-control table, one line per route.

`tests/test_access_matrix.py` enumerates every route of `app.main.create_app()` and checks
each against this table, for every built-in role, an anonymous caller and an agent of
another team. A route missing here fails that test: adding a route means deciding, here,
who may call it.

- `public("why")`: no staff login needed (customers, help centre, probes, pages whose data
  comes from protected APIs). Not called by the test; the reason is the review record.
- `allow(roles...)`: only these built-in roles; everyone else is refused (403), anonymous
  callers 401. `team_scoped=True`: the route acts on one ticket, and a member of another
  team gets 404 for it (it does not exist for them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Public:
    reason: str


@dataclass(frozen=True)
class Allow:
    roles: frozenset[str]
    team_scoped: bool = False


def public(reason: str) -> Public:
    return Public(reason)


def allow(*roles: str, team_scoped: bool = False) -> Allow:
    return Allow(frozenset(roles), team_scoped)


ROLES = ("admin", "supervisor", "agent", "knowledge_editor", "ml_engineer", "analyst",
         "technical_support")
EVERYONE = ROLES  # any logged-in staff member
TICKET_WORKERS = ("admin", "supervisor", "agent")
SUPPORT_CONFIGURERS = ("admin", "supervisor")
KB_READERS = ("admin", "supervisor", "agent", "knowledge_editor", "ml_engineer")
KB_EDITORS = ("admin", "knowledge_editor")
ML_TEAM = ("admin", "ml_engineer")  # training.read / training.annotate
REPORT_READERS = ("admin", "supervisor", "ml_engineer", "analyst")
REPORT_EXPORTERS = ("admin", "analyst")

MATRIX: dict[str, Public | Allow] = {
    # --- framework and probes
    "GET /openapi.json": public("API description; holds no data"),
    "GET /docs": public("API explorer page"),
    "GET /docs/oauth2-redirect": public("API explorer page"),
    "GET /redoc": public("API reference page"),
    "GET /healthz": public("liveness/readiness probe"),
    "GET /readyz": public("readiness probe; part statuses only, no data"),
    # Scrapers use an API key with system.read, or an address in metrics_allow_addresses
    # (empty by default, so the test client is not on it).
    "GET /metrics": allow("admin", "technical_support"),
    "GET /": public("redirect to the widget demo"),
    # --- customers (authorised by the conversation token / verified identity instead)
    "POST /api/v1/conversations": public("customer starts a conversation; gets its token"),
    "GET /api/v1/conversations": public("customer's own conversations (verified identity)"),
    "GET /api/v1/conversations/{conversation_id}": public("conversation token"),
    "POST /api/v1/conversations/{conversation_id}/messages": public("conversation token"),
    "WS /api/v1/conversations/{conversation_id}/ws": public("conversation token"),
    "POST /api/v1/conversations/{conversation_id}/ratings": public("conversation token"),
    "POST /api/v1/conversations/{conversation_id}/csat": public("conversation token"),
    "GET /csat/{token}": public("CSAT page; the signed, expiring e-mailed link is the credential"),
    "POST /csat/{token}": public("CSAT form; the signed, expiring e-mailed link is the credential"),
    "POST /api/v1/channels/email/inbound": public("mail provider webhook; X-Inbound-Secret "
                                                  "checked in constant time"),
    "GET /api/v1/conversations/{conversation_id}/queue": public("conversation token"),
    "PUT /api/v1/conversations/{conversation_id}/contact": public("conversation token"),
    "GET /widget/demo": public("widget demo host page"),
    "GET /widget/widget.js": public("widget script"),
    "GET /widget/i18n/{name}": public("widget translations; a fixed list"),
    "POST /webhooks/rasa/actions": public("Rasa action protocol; shared secret checked"),
    "POST /internal/events": public("worker/CLI live-event relay; data-dir secret checked"),
    # --- help centre (published articles only)
    "GET /help": public("help centre"),
    "GET /help/articles/{slug}": public("help centre"),
    "GET /api/v1/kb/articles": public("published articles"),
    "GET /api/v1/kb/articles/{slug}": public("published article"),
    "GET /api/v1/kb/search": public("search over published articles"),
    # --- authentication
    "POST /api/v1/auth/login": public("login (throttled)"),
    "POST /api/v1/auth/logout": public("revokes the presented session, if any"),
    "POST /api/v1/auth/password-reset": public("request a reset link (same answer always)"),
    "POST /api/v1/auth/password-reset/confirm": public("the reset token is the credential"),
    "GET /api/v1/auth/me": allow(*EVERYONE),
    "PUT /api/v1/auth/me/preferences": allow(*EVERYONE),
    "POST /api/v1/auth/password": allow(*EVERYONE),
    "POST /api/v1/auth/totp/setup": allow(*EVERYONE),
    "POST /api/v1/auth/totp/enable": allow(*EVERYONE),
    "POST /api/v1/auth/totp/disable": allow(*EVERYONE),
    # --- agent console
    "GET /console": public("page shell; data comes from the agent API"),
    "GET /api/v1/agent/queue": allow(*TICKET_WORKERS),
    "GET /api/v1/agent/tickets/{ticket_id}": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/claim": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/messages": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/solve": allow(*TICKET_WORKERS, team_scoped=True),
    "GET /api/v1/agent/tickets/{ticket_id}/label": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/label": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/messages/{message_id}/article-draft":
        allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/assign": allow("admin", "supervisor",
                                                           team_scoped=True),
    "WS /api/v1/agent/ws": allow(*TICKET_WORKERS),
    "GET /console/supervisor": public("page shell; data comes from the agent API"),
    "GET /console/static/{name}": public("console scripts and stylesheet; a fixed list"),
    "GET /console/static/i18n/{name}": public("console translations; a fixed list"),
    # --- the ML team's pages (shells: the login form without a session; data from the
    # training and models APIs)
    "GET /console/ml": public("redirects to the annotation page"),
    "GET /console/ml/{page}": public("page shell; data comes from the training/models APIs"),
    "GET /console/ml/static/{name}": public("ML pages' scripts and stylesheet; a fixed list"),
    "POST /api/v1/agent/tickets": allow(*TICKET_WORKERS),
    "POST /api/v1/agent/tickets/{ticket_id}/notes": allow(*TICKET_WORKERS, team_scoped=True),
    "PATCH /api/v1/agent/tickets/{ticket_id}": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/transfer": allow(*TICKET_WORKERS,
                                                             team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/merge": allow(*TICKET_WORKERS, team_scoped=True),
    "POST /api/v1/agent/tickets/{ticket_id}/watch": allow(*TICKET_WORKERS, team_scoped=True),
    "DELETE /api/v1/agent/tickets/{ticket_id}/watch": allow(*TICKET_WORKERS, team_scoped=True),
    "GET /api/v1/agent/canned": allow(*TICKET_WORKERS),
    "POST /api/v1/agent/canned": allow(*TICKET_WORKERS),
    "PATCH /api/v1/agent/canned/{response_id}": allow(*TICKET_WORKERS),
    "DELETE /api/v1/agent/canned/{response_id}": allow(*TICKET_WORKERS),
    "GET /api/v1/agent/presence/me": allow(*TICKET_WORKERS),
    "PUT /api/v1/agent/presence/me": allow(*TICKET_WORKERS),
    "GET /api/v1/agent/directory": allow(*TICKET_WORKERS),
    "GET /api/v1/agent/supervisor/overview": allow("admin", "supervisor"),
    "GET /api/v1/support/routing-rules": allow(*SUPPORT_CONFIGURERS),
    "PUT /api/v1/support/routing-rules": allow(*SUPPORT_CONFIGURERS),
    "DELETE /api/v1/support/routing-rules/{rule_id}": allow(*SUPPORT_CONFIGURERS),
    "GET /api/v1/support/teams": allow(*SUPPORT_CONFIGURERS),
    "PATCH /api/v1/support/teams/{team_id}": allow(*SUPPORT_CONFIGURERS),
    "GET /api/v1/agent/notifications": allow(*TICKET_WORKERS),
    "POST /api/v1/agent/notifications/{notification_id}/read": allow(*TICKET_WORKERS),
    # --- service levels (support.configure)
    "GET /api/v1/support/calendars": allow(*SUPPORT_CONFIGURERS),
    "POST /api/v1/support/calendars": allow(*SUPPORT_CONFIGURERS),
    "PUT /api/v1/support/calendars/{calendar_id}": allow(*SUPPORT_CONFIGURERS),
    "DELETE /api/v1/support/calendars/{calendar_id}": allow(*SUPPORT_CONFIGURERS),
    "GET /api/v1/support/sla-policies": allow(*SUPPORT_CONFIGURERS),
    "POST /api/v1/support/sla-policies": allow(*SUPPORT_CONFIGURERS),
    "PUT /api/v1/support/sla-policies/{policy_id}": allow(*SUPPORT_CONFIGURERS),
    "DELETE /api/v1/support/sla-policies/{policy_id}": allow(*SUPPORT_CONFIGURERS),
    # --- administration
    "GET /admin": public("page shell; data comes from the admin API"),
    "GET /api/v1/admin/users": allow("admin"),
    "POST /api/v1/admin/users": allow("admin"),
    "PATCH /api/v1/admin/users/{user_id}": allow("admin"),
    "DELETE /api/v1/admin/users/{user_id}": allow("admin"),
    "PUT /api/v1/admin/users/{user_id}/teams": allow("admin"),
    "POST /api/v1/admin/users/{user_id}/reset-link": allow("admin"),
    "GET /api/v1/admin/roles": allow("admin"),
    "POST /api/v1/admin/roles": allow("admin"),
    "PUT /api/v1/admin/roles/{name}": allow("admin"),
    "DELETE /api/v1/admin/roles/{name}": allow("admin"),
    "GET /api/v1/admin/teams": allow("admin"),
    "POST /api/v1/admin/teams": allow("admin"),
    "GET /api/v1/admin/api-keys": allow("admin"),
    "POST /api/v1/admin/api-keys": allow("admin"),
    "DELETE /api/v1/admin/api-keys/{key_id}": allow("admin"),
    "GET /api/v1/admin/audit": allow("admin", "technical_support"),
    "GET /api/v1/admin/audit/export": allow("admin", "technical_support"),
    # --- privacy and integrations (issue 6 part B)
    "POST /api/v1/privacy/export": allow("admin"),
    "POST /api/v1/privacy/erase": allow("admin"),
    "POST /api/v1/webhooks": allow("admin"),
    "GET /api/v1/webhooks": allow("admin"),
    "POST /api/v1/webhooks/{subscription_id}/deactivate": allow("admin"),
    "GET /api/v1/webhooks/{subscription_id}/deliveries": allow("admin"),
    # --- knowledge-base editor
    "GET /api/v1/kb/editor/articles": allow(*KB_READERS),
    "POST /api/v1/kb/editor/articles": allow(*KB_EDITORS),
    "GET /api/v1/kb/editor/articles/{article_id}": allow(*KB_READERS),
    "PUT /api/v1/kb/editor/articles/{article_id}": allow(*KB_EDITORS),
    "POST /api/v1/kb/editor/articles/{article_id}/status": allow(*KB_EDITORS),
    "POST /api/v1/kb/editor/articles/{article_id}/publish": allow(*KB_EDITORS),
    "POST /api/v1/kb/editor/articles/{article_id}/archive": allow(*KB_EDITORS),
    "GET /api/v1/kb/editor/articles/{article_id}/versions": allow(*KB_READERS),
    "GET /api/v1/kb/editor/articles/{article_id}/diff": allow(*KB_READERS),
    "POST /api/v1/kb/editor/articles/{article_id}/restore": allow(*KB_EDITORS),
    "GET /api/v1/kb/editor/search": allow(*KB_READERS),
    "POST /api/v1/kb/editor/import": allow(*KB_EDITORS),
    "GET /api/v1/kb/editor/export": allow(*KB_READERS),
    "GET /api/v1/kb/editor/gaps": allow(*KB_READERS),
    "POST /api/v1/kb/editor/gaps/article": allow(*KB_EDITORS),
    "GET /kb/editor": allow(*KB_READERS),
    "GET /kb/editor/new": allow(*KB_EDITORS),
    "GET /kb/editor/articles/{article_id}": allow(*KB_READERS),
    "GET /kb/editor/gaps": allow(*KB_READERS),
    # --- model registry (training.read or models.train to read; models.train; models.promote)
    "GET /api/v1/models": allow("admin", "ml_engineer"),
    "GET /api/v1/models/live": allow("admin", "ml_engineer"),
    "POST /api/v1/models": allow("admin", "ml_engineer"),
    "GET /api/v1/models/{version}": allow("admin", "ml_engineer"),
    "POST /api/v1/models/{version}/cancel": allow("admin", "ml_engineer"),
    "GET /api/v1/models/{version}/log": allow("admin", "ml_engineer"),
    "GET /api/v1/models/{version}/log/stream": allow("admin", "ml_engineer"),
    "POST /api/v1/models/{version}/evaluate": allow("admin", "ml_engineer"),
    "GET /api/v1/models/{version}/risk-coverage.png": allow("admin", "ml_engineer"),
    "POST /api/v1/models/{version}/promote": allow("admin", "ml_engineer"),
    "POST /api/v1/models/{version}/rollback": allow("admin", "ml_engineer"),
    # --- learning-loop data (training.read for reads; training.annotate for changes)
    "GET /api/v1/training/candidates": allow(*ML_TEAM),
    "GET /api/v1/training/candidates/progress": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/collect": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/bulk": allow(*ML_TEAM),
    "GET /api/v1/training/candidates/{candidate_id}": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/{candidate_id}/accept": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/{candidate_id}/relabel": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/{candidate_id}/reject": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/{candidate_id}/out-of-scope": allow(*ML_TEAM),
    "POST /api/v1/training/candidates/{candidate_id}/article": allow(*ML_TEAM),
    "GET /api/v1/training/intents": allow(*ML_TEAM),
    "POST /api/v1/training/intents": allow(*ML_TEAM),
    "GET /api/v1/training/snapshots": allow(*ML_TEAM),
    "POST /api/v1/training/snapshots": allow(*ML_TEAM),
    "GET /api/v1/training/snapshots/{snapshot_id}": allow(*ML_TEAM),
    "GET /api/v1/training/snapshots/{snapshot_id}/export.yml": allow(*ML_TEAM),
    "GET /api/v1/training/snapshots/{snapshot_id}/export.csv": allow(*ML_TEAM),
    # --- reports (reports.read; supervisors team-scoped; agents only their own agent row)
    "GET /api/v1/reports/volume": allow(*REPORT_READERS),
    "GET /api/v1/reports/bot": allow(*REPORT_READERS),
    "GET /api/v1/reports/teams": allow(*REPORT_READERS),
    "GET /api/v1/reports/agents": allow(*REPORT_READERS, "agent"),
    "GET /api/v1/reports/conversations": allow(*REPORT_READERS),
    "GET /api/v1/reports/conversations/{conversation_id}": allow(*REPORT_READERS),
    "GET /api/v1/reports/volume.csv": allow(*REPORT_EXPORTERS),
    "GET /api/v1/reports/bot.csv": allow(*REPORT_EXPORTERS),
    "GET /api/v1/reports/teams.csv": allow(*REPORT_EXPORTERS),
    "GET /api/v1/reports/agents.csv": allow(*REPORT_EXPORTERS),
    "GET /api/v1/reports/conversations.csv": allow(*REPORT_EXPORTERS),
    # --- scheduled summaries (each reader's own) and alert rules (managed by configurers)
    "GET /api/v1/reports/subscriptions": allow(*REPORT_READERS),
    "POST /api/v1/reports/subscriptions": allow(*REPORT_READERS),
    "DELETE /api/v1/reports/subscriptions/{subscription_id}": allow(*REPORT_READERS),
    "GET /api/v1/reports/alerts": allow(*REPORT_READERS),
    "POST /api/v1/reports/alerts": allow(*SUPPORT_CONFIGURERS),
    "PATCH /api/v1/reports/alerts/{rule_id}": allow(*SUPPORT_CONFIGURERS),
    "DELETE /api/v1/reports/alerts/{rule_id}": allow(*SUPPORT_CONFIGURERS),
    "GET /api/v1/reports/alerts/{rule_id}/episodes": allow(*REPORT_READERS),
    # --- reports pages (shells: the login form without a session; data from the reports API)
    "GET /reports": public("page shell; data comes from the reports API"),
    "GET /reports/bot": public("page shell; data comes from the reports API"),
    "GET /reports/teams": public("page shell; data comes from the reports API"),
    "GET /reports/agents": public("page shell; data comes from the reports API"),
    "GET /reports/conversations": public("page shell; data comes from the reports API"),
    "GET /reports/conversations/{conversation_id}": public("page shell; the transcript comes "
                                                           "from the reports API"),
    "GET /reports/static/{name}": public("reports scripts and stylesheet; a fixed list"),
    "GET /reports/vendor/echarts.min.js": public("the pinned chart library"),
}
