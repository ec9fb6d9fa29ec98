"""The admin API: user management and the audit trail, and team scoping of tickets."""

import csv
import io

import pytest

from conversations import service as conversations
from core.audit import AuditEntry
from core.auth.models import User
from core.database import session_scope
from handoff.models import Ticket
from tests.core.auth_helpers import bearer, make_team, user_in_team
from tests.factories import make_ticket


@pytest.fixture
def world(db_url):
    """Two teams, an agent and a supervisor in each, an administrator, an analyst and a
    technical support person; one ticket per team and one with no team yet."""
    from tests.api_helpers import api_client

    with session_scope() as s:
        red, blue = make_team(s, "red"), make_team(s, "blue")
        people = {
            "admin": user_in_team(s, "admin", None),
            "red_agent": user_in_team(s, "agent", red),
            "blue_agent": user_in_team(s, "agent", blue),
            "blue_supervisor": user_in_team(s, "supervisor", blue),
            "analyst": user_in_team(s, "analyst", None),
            "tech": user_in_team(s, "technical_support", None),
        }
        tickets = {}
        for name, team in (("red", red), ("blue", blue), ("none", None)):
            ticket = make_ticket(s, text=f"help from {name}")
            ticket.team_id = team.id if team else None
            tickets[name] = ticket.id
        s.flush()
        headers = {k: bearer(s, u) for k, u in people.items()}
        ids = {k: u.id for k, u in people.items()}
        teams = {"red": red.id, "blue": blue.id}
    with api_client() as client:
        yield client, headers, ids, tickets, teams


def test_user_management_is_audited_with_actor_address_and_before_after(world):
    client, h, ids, _, teams = world
    created = client.post("/api/v1/admin/users", headers=h["admin"], json={
        "email": "new@example.test", "display_name": "New Person",
        "password": "plum tractor velvet lagoon", "role": "agent"})
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert client.post("/api/v1/admin/users", headers=h["admin"], json={
        "email": "weak@example.test", "display_name": "Weak", "password": "password1234",
        "role": "agent"}).json()["field"] == "password"
    client.patch(f"/api/v1/admin/users/{new_id}", headers=h["admin"], json={"role": "supervisor"})
    client.put(f"/api/v1/admin/users/{new_id}/teams", headers=h["admin"],
               json={"team_ids": [teams["red"]]})
    assert client.delete(f"/api/v1/admin/users/{new_id}", headers=h["admin"]).status_code == 204
    assert client.delete(f"/api/v1/admin/users/{ids['admin']}",
                         headers=h["admin"]).status_code == 409  # not yourself

    page = client.get("/api/v1/admin/audit", headers=h["admin"],
                      params={"target": f"user:{new_id}"}).json()["entries"]
    assert [e["action"] for e in page] == ["user.deleted", "user.teams_changed",
                                           "user.role_changed", "user.created"]
    role_change = page[2]
    assert role_change["actor_user_id"] == ids["admin"]
    assert role_change["client_address"] == "testclient"
    assert role_change["before"]["role"] == "agent" and role_change["after"]["role"] == "supervisor"
    assert role_change["created_at"].endswith("+00:00")
    prefixed = client.get("/api/v1/admin/audit", headers=h["admin"],
                          params={"action": "user."}).json()["entries"]
    assert {e["action"] for e in prefixed} == {"user.deleted", "user.teams_changed",
                                               "user.role_changed", "user.created"}


def test_audit_export_is_permission_checked_and_itself_audited(world):
    client, h, _, _, _ = world
    assert client.get("/api/v1/admin/audit/export", headers=h["analyst"]).status_code == 403
    assert client.get("/api/v1/admin/users", headers=h["tech"]).status_code == 403
    client.post("/api/v1/auth/login", json={"email": "=cmd|' /C calc'!A0@x.test",
                                            "password": "wrong password!!"})
    exported = client.get("/api/v1/admin/audit/export", headers=h["tech"],
                          params={"format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    failed = next(r for r in rows if r["action"] == "auth.login_failed")
    assert failed["target"] == "email:=cmd|' /c calc'!a0@x.test"
    assert failed["client_address"] == "testclient"
    as_json = client.get("/api/v1/admin/audit/export", headers=h["tech"],
                         params={"format": "json", "action": "audit.exported"}).json()
    assert [e["after"]["format"] for e in as_json] == ["csv"]
    with session_scope() as s:
        assert s.query(AuditEntry).filter_by(action="audit.exported").count() == 2


def test_agents_see_only_their_teams_tickets_and_unassigned_ones(world):
    client, h, _, tickets, _ = world
    red_queue = {t["id"] for t in client.get("/api/v1/agent/queue", headers=h["red_agent"]).json()}
    assert red_queue == {tickets["red"], tickets["none"]}
    admin_queue = {t["id"] for t in client.get("/api/v1/agent/queue", headers=h["admin"]).json()}
    assert admin_queue == set(tickets.values())
    # Changing the id in the URL does not help: another team's ticket does not exist for you.
    for method, path, body in (
        ("GET", f"/api/v1/agent/tickets/{tickets['blue']}", None),
        ("POST", f"/api/v1/agent/tickets/{tickets['blue']}/claim", None),
        ("POST", f"/api/v1/agent/tickets/{tickets['blue']}/messages", {"text": "hi"}),
        ("POST", f"/api/v1/agent/tickets/{tickets['blue']}/solve", None),
    ):
        response = client.request(method, path, headers=h["red_agent"], json=body)
        assert response.status_code == 404, (path, response.text)
    assert client.get(f"/api/v1/agent/tickets/{tickets['blue']}",
                      headers=h["blue_agent"]).status_code == 200
    assert client.post(f"/api/v1/agent/tickets/{tickets['none']}/claim",
                       headers=h["red_agent"]).status_code == 200


def test_reassignment_is_scoped_and_audited(world):
    client, h, ids, tickets, teams = world
    # A supervisor cannot move a ticket into a team that is not theirs ...
    refused = client.post(f"/api/v1/agent/tickets/{tickets['blue']}/assign",
                          headers=h["blue_supervisor"], json={"team_id": teams["red"]})
    assert refused.status_code == 403 and refused.json()["field"] == "team_id"
    # ... nor reassign as an agent (tickets.assign).
    assert client.post(f"/api/v1/agent/tickets/{tickets['blue']}/assign", headers=h["blue_agent"],
                       json={"assignee_id": ids["blue_agent"]}).status_code == 403
    moved = client.post(f"/api/v1/agent/tickets/{tickets['none']}/assign",
                        headers=h["blue_supervisor"],
                        json={"team_id": teams["blue"], "assignee_id": ids["blue_agent"]})
    assert moved.status_code == 200 and moved.json()["status"] == "open"
    assert client.get(f"/api/v1/agent/tickets/{tickets['none']}",
                      headers=h["red_agent"]).status_code == 404
    with session_scope() as s:
        entry = s.query(AuditEntry).filter_by(action="ticket.reassigned").one()
        assert entry.actor_user_id == ids["blue_supervisor"]
        assert entry.before == {"assignee_id": None, "team_id": None, "status": "new"}
        assert entry.after["team_id"] == teams["blue"]
    bad = client.post(f"/api/v1/agent/tickets/{tickets['blue']}/assign", headers=h["admin"],
                      json={"assignee_id": ids["analyst"]})
    assert bad.status_code == 422 and bad.json()["field"] == "assignee_id"


def test_live_events_are_team_scoped(world):
    client, h, _, tickets, _ = world
    token = h["red_agent"]["Authorization"].split()[1]
    with session_scope() as s:
        blue_conv = s.get(Ticket, tickets["blue"]).conversation_id
        none_conv = s.get(Ticket, tickets["none"]).conversation_id
    with client.websocket_connect(f"/api/v1/agent/ws?token={token}") as ws:
        for conversation_id, text in ((blue_conv, "secret blue"), (none_conv, "open to all")):
            with session_scope() as s:
                conversation = conversations.get_conversation(s, conversation_id)
                conversations.add_customer_message(s, conversation, text, None)
        event = ws.receive_json()
    assert event["conversation_id"] == none_conv
    assert event["message"]["text"] == "open to all"


def test_disabled_users_socket_closes_on_the_next_event(world):
    from starlette.websockets import WebSocketDisconnect

    client, h, ids, tickets, _ = world
    token = h["red_agent"]["Authorization"].split()[1]
    with session_scope() as s:
        none_conv = s.get(Ticket, tickets["none"]).conversation_id
    with client.websocket_connect(f"/api/v1/agent/ws?token={token}") as ws:
        with session_scope() as s:
            s.get(User, ids["red_agent"]).is_active = False
        with session_scope() as s:
            conversations.add_customer_message(
                s, conversations.get_conversation(s, none_conv), "after disable", None)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_csv_cells_cannot_start_a_spreadsheet_formula():
    from admin_console.audit_log import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("@SUM(A1)") == "'@SUM(A1)"
    assert _cell("user:4") == "user:4"
    assert _cell(7) == 7


def test_a_user_manager_cannot_hand_out_more_than_they_hold(world):
    from core.auth import roles
    from tests.core.auth_helpers import enable_totp

    client, _, ids, _, _ = world
    with session_scope() as s:
        roles.create_role(s, name="user_manager", permissions=["users.manage", "tickets.read"])
        manager = user_in_team(s, "agent", None)
        manager.role = "user_manager"
        enable_totp(manager)
        s.flush()
        manager_auth = bearer(s, manager)
    promote = client.patch(f"/api/v1/admin/users/{ids['red_agent']}", headers=manager_auth,
                           json={"role": "admin"})
    assert promote.status_code == 403 and promote.json()["field"] == "role"
    assert client.delete(f"/api/v1/admin/users/{ids['admin']}",
                         headers=manager_auth).status_code == 403
    assert client.post(f"/api/v1/admin/users/{ids['admin']}/reset-link",
                       headers=manager_auth).status_code == 403
    assert client.patch(f"/api/v1/admin/users/{ids['admin']}", headers=manager_auth,
                        json={"is_active": False}).status_code == 403
    widen = client.post("/api/v1/admin/roles", headers=manager_auth,
                        json={"name": "sneaky", "permissions": ["audit.read"]})
    assert widen.status_code == 403 and widen.json()["field"] == "permissions"
    created = client.post("/api/v1/admin/users", headers=manager_auth, json={
        "email": "viewer@example.test", "display_name": "Viewer",
        "password": "plum tractor velvet lagoon", "role": "user_manager"})
    assert created.status_code == 201


def test_admin_page_is_a_shell_that_loads_data_through_the_api(db_url):
    from tests.api_helpers import api_client

    with api_client() as client:
        page = client.get("/admin")
        script = client.get("/console/static/admin.js")
    assert page.status_code == 200
    assert 'id="login-form"' in page.text and 'src="/console/static/admin.js"' in page.text
    assert script.status_code == 200 and "/api/v1/admin/audit" in script.text
