"""The access-control matrix: every route of the app, every built-in role, an anonymous
caller and an agent of another team, against the expected table in tests/access_matrix.py."""

from __future__ import annotations

import itertools
import re

import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from core.auth import api_keys
from core.auth import roles as custom_roles
from core.auth.models import User
from core.auth.permissions import Permission
from core.database import session_scope
from tests.access_matrix import MATRIX, ROLES, Allow
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer, make_team, user_in_team
from tests.factories import make_ticket, make_user

ANONYMOUS = "anonymous"
# An agent and a supervisor whose only team is not the ticket's team.
OTHER_TEAM = {"other_team_agent": "agent", "other_team_supervisor": "supervisor"}
CALLERS = (ANONYMOUS, *ROLES, *OTHER_TEAM)
NO_SUCH_ID = "999999"
_serial = itertools.count(1)
# Bodies that pass validation, where the object-level check sits behind it.
SAMPLE_BODIES = {
    "POST /api/v1/agent/tickets/{ticket_id}/messages": {"text": "hello"},
    "POST /api/v1/agent/tickets/{ticket_id}/notes": {"text": "a note"},
    # Valid bodies naming objects that do not exist: the team check comes first.
    "POST /api/v1/agent/tickets/{ticket_id}/transfer": {"team_id": 999_999, "note": "x"},
    "POST /api/v1/agent/tickets/{ticket_id}/merge": {"into_ticket_id": 999_999},
}


def app_routes() -> set[str]:
    from app.main import create_app

    keys = set()
    for context in iter_route_contexts(create_app().routes):
        if isinstance(context.original_route, APIWebSocketRoute | WebSocketRoute):
            keys.add(f"WS {context.path}")
            continue
        for method in (context.methods or set()) - {"HEAD"}:
            keys.add(f"{method} {context.path}")
    return keys


def test_every_route_has_an_entry_and_every_entry_a_route():
    routes = app_routes()
    assert sorted(routes - set(MATRIX)) == [], "routes without an access-matrix entry"
    assert sorted(set(MATRIX) - routes) == [], "entries for routes that no longer exist"


@pytest.fixture
def world(db_url):
    with session_scope() as s:
        red, blue = make_team(s, "red"), make_team(s, "blue")
        users = {role: user_in_team(s, role, red) for role in ROLES}
        for name, role in OTHER_TEAM.items():
            users[name] = user_in_team(s, role, blue)
        ids = {name: u.id for name, u in users.items()}
        red_id = red.id
    with api_client() as client:
        yield client, ids, red_id


def _fill_path(path: str, caller: str, ids: dict[str, int], red_team: int) -> tuple[str, dict]:
    """Fresh objects for every call, so one caller's change cannot affect the next."""
    headers: dict[str, str] = {}
    with session_scope() as s:
        if caller != ANONYMOUS:
            headers = bearer(s, s.get(User, ids[caller]))
        if "{ticket_id}" in path:
            ticket = make_ticket(s)
            ticket.team_id = red_team
            if caller in ROLES:
                # Assigned to the caller, so reply/resolve reach the permission decision.
                ticket.assignee_id, ticket.status = ids[caller], "open"
            s.flush()
            path = path.replace("{ticket_id}", str(ticket.id))
        if "{user_id}" in path:
            path = path.replace("{user_id}", str(make_user(s, role="agent").id))
        if "{name}" in path:
            role = custom_roles.create_role(s, name=f"matrix_role_{next(_serial)}",
                                            permissions=["kb.read"])
            path = path.replace("{name}", role.name)
        if "{key_id}" in path:
            key, _ = api_keys.create_key(s, owner_id=ids["admin"],
                                         owner_permissions=frozenset(Permission),
                                         name="matrix", permissions=["kb.read"])
            path = path.replace("{key_id}", str(key.id))
    return re.sub(r"\{[a-z_]+\}", NO_SUCH_ID, path), headers


def _call(client, key: str, path: str, headers: dict) -> int:
    method = key.split(" ", 1)[0]
    if method == "WS":
        token = headers.get("Authorization", " ").split(" ", 1)[1]
        try:
            with client.websocket_connect(f"{path}?token={token}" if token else path) as ws:
                ws.close()
        except WebSocketDisconnect as exc:
            return {4401: 401, 4403: 403}.get(exc.code, exc.code)
        return 101
    body = SAMPLE_BODIES.get(key, {}) if method in ("POST", "PUT", "PATCH") else None
    client.cookies.clear()
    return client.request(method, path, headers=headers, json=body).status_code


def _expected(rule: Allow, caller: str) -> str:
    if caller == ANONYMOUS:
        return "401"
    if caller in OTHER_TEAM:
        as_role = _expected(rule, OTHER_TEAM[caller])
        return "404" if rule.team_scoped and as_role == "allowed" else as_role
    return "allowed" if caller in rule.roles else "403"


def _outcome(status: int, rule: Allow) -> str:
    if status in (401, 403):
        return str(status)
    if status >= 500:
        return f"server error {status}"
    if status == 404 and rule.team_scoped:
        return "404"
    return "allowed"


def test_access_matrix(world):
    client, ids, red_team = world
    routes = app_routes()
    failures = []
    for key, rule in MATRIX.items():
        if not isinstance(rule, Allow) or key not in routes:
            continue
        for caller in CALLERS:
            path, headers = _fill_path(key.split(" ", 1)[1], caller, ids, red_team)
            try:
                status = _call(client, key, path, headers)
            except Exception as exc:  # a crash is a failure of this cell, not of the run
                failures.append(f"{key} as {caller}: raised {exc!r}")
                continue
            got, want = _outcome(status, rule), _expected(rule, caller)
            if got != want:
                failures.append(f"{key} as {caller}: expected {want}, got {got} ({status})")
    assert failures == [], "\n".join(failures)
