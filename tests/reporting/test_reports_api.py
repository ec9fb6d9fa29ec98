"""The reports API over HTTP: bad input answers a clear 4xx naming the field, scope and
masking follow the caller, exports need reports.export and are audited with their filters."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.database import session_scope
from handoff.models import TeamMember
from reporting import facts
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer
from tests.factories import make_user
from tests.reporting.history import build_history

NOVEMBER = "start=2026-11-01&end=2026-11-30"


@pytest.fixture
def api(db_url):
    with session_scope() as s:
        world = build_history(s)
        facts.refresh_all(s)
        users = {role: make_user(s, role) for role in ("analyst", "supervisor", "agent")}
        s.add(TeamMember(team_id=world.team_a.id, user_id=users["supervisor"].id))
        s.flush()
        headers = {role: bearer(s, user) for role, user in users.items()}
        headers["a1"] = bearer(s, world.a1)
        ids = {"team_a": world.team_a.id, "team_b": world.team_b.id, "a1": world.a1.id,
               "b1": world.b1.id, "C3": world.cid("C3"), "C5": world.cid("C5")}
    with api_client() as client:
        yield client, headers, ids


BAD_FILTERS = [
    ("channel=fax", "channel"),
    ("priority=whenever", "priority"),
    ("tz=Mars/Olympus_Mons", "tz"),
    ("start=2026-11-30&end=2026-11-01", "end"),  # inverted
    ("start=2025-01-01&end=2026-11-30", "end"),  # more than 366 days
    ("start=yesterday", "start"),
    ("start=9999-12-31&end=9999-12-31", "start"),  # no overflow into a 500
    ("team_id=999999", "team_id"),
    ("agent_id=999999", "agent_id"),
]


def test_bad_filters_answer_422_naming_the_field(api):
    client, headers, _ = api
    for report in ("volume", "teams", "conversations.csv"):
        for query, field in BAD_FILTERS:
            response = client.get(f"/api/v1/reports/{report}?{query}",
                                  headers=headers["analyst"])
            assert response.status_code == 422, (report, query, response.text)
            assert response.json()["field"] == field


def test_bad_drilldown_keys_and_cursors(api):
    client, headers, _ = api
    base = f"/api/v1/reports/conversations?{NOVEMBER}"
    for query, field in (("metric=bot.nonsense", "metric"), ("metric=volume.hour&value=25",
                                                              "value"),
                         ("metric=volume.backlog&value=lost", "value"),
                         ("metric=bot.contained&cursor=%21%21", "cursor"),
                         ("metric=bot.contained&limit=100000", "limit")):
        response = client.get(f"{base}&{query}", headers=headers["analyst"])
        assert response.status_code == 422, (query, response.text)
        assert response.json()["field"] == field
    response = client.get(f"/api/v1/reports/conversations.csv?{NOVEMBER}&metric=x.y",
                          headers=headers["analyst"])
    assert response.status_code == 422  # before any row is streamed


def test_supervisors_see_their_teams_and_agents_only_themselves(api):
    client, headers, ids = api
    body = client.get(f"/api/v1/reports/teams?{NOVEMBER}", headers=headers["supervisor"]).json()
    assert [t["name"] for t in body["teams"]] == ["Support"]
    assert body["meta"]["team_scope"] == [ids["team_a"]]
    response = client.get(f"/api/v1/reports/volume?team_id={ids['team_b']}",
                          headers=headers["supervisor"])
    assert response.status_code == 403 and response.json()["field"] == "team_id"
    # Billing's unanswered C5 is not theirs: 404, as if it did not exist.
    assert client.get(f"/api/v1/reports/conversations/{ids['C5']}",
                      headers=headers["supervisor"]).status_code == 404

    mine = client.get(f"/api/v1/reports/agents?{NOVEMBER}", headers=headers["a1"]).json()
    assert [a["id"] for a in mine["agents"]] == [ids["a1"]]
    assert mine["agents"][0]["replies"]["amount"] == 4
    other = client.get(f"/api/v1/reports/agents?agent_id={ids['b1']}", headers=headers["a1"])
    assert other.status_code == 403 and other.json()["field"] == "agent_id"
    assert client.get("/api/v1/reports/teams", headers=headers["agent"]).status_code == 403


def test_customer_words_are_masked_without_pii_read(api):
    client, headers, ids = api
    query = f"/api/v1/reports/conversations?{NOVEMBER}&metric=bot.handed_off&value=" \
            "customer_request"
    masked = client.get(query, headers=headers["analyst"]).json()["rows"][0]
    assert "jo@example.com" not in masked["first_customer_message"]
    shown = client.get(query, headers=headers["supervisor"]).json()["rows"][0]
    assert "jo@example.com" in shown["first_customer_message"]
    transcript = client.get(f"/api/v1/reports/conversations/{ids['C3']}",
                            headers=headers["analyst"]).json()
    assert transcript["masked"] is True
    assert all("jo@example.com" not in m["text"] for m in transcript["messages"])
    assert [m["kind"] for m in transcript["messages"] if m["sender_type"] == "bot"] == [
        "handoff"]


def test_exports_need_the_permission_and_are_audited_with_their_filters(api):
    client, headers, ids = api
    for path in ("teams.csv", "conversations.csv?metric=bot.episodes"):
        assert client.get(f"/api/v1/reports/{path}",
                          headers=headers["supervisor"]).status_code == 403
    response = client.get(f"/api/v1/reports/conversations.csv?{NOVEMBER}&metric=team.handled"
                          f"&value={ids['team_b']}&business_hours=true",
                          headers=headers["analyst"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4  # C4, C5, C6, C9
    assert all("@" not in (r["first_customer_message"] or "") for r in rows)
    teams = list(csv.DictReader(io.StringIO(client.get(
        f"/api/v1/reports/teams.csv?{NOVEMBER}&business_hours=true",
        headers=headers["analyst"]).text)))
    first = next(r for r in teams if r["row"] == "Support" and r["label"] == "First response")
    assert first["average_seconds"] == "5180.0" and first["business_hours"] == "true"
    with session_scope() as s:
        entries = list(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "reports.exported").order_by(AuditEntry.id)))
    assert [e.target for e in entries] == ["report:conversations", "report:teams"]
    assert entries[0].after["filters"]["team_id"] is None
    assert entries[0].after["value"] == str(ids["team_b"])
    assert entries[0].after["filters"]["business_hours"] is True
    assert entries[0].after["filters"]["start"] == "2026-11-01"


def test_worker_tasks_roll_up_what_changed(api):
    from datetime import UTC, datetime

    from conversations.models import Message
    from reporting import fact_tasks
    from reporting.facts import ConversationFact

    _client, _headers, ids = api
    with session_scope() as s:
        s.add(Message(conversation_id=ids["C5"], sender_type="customer", body="hello?",
                      meta={}, created_at=datetime(2026, 11, 23, 12, 30, tzinfo=UTC)))
    with session_scope() as s:
        assert facts.pending_count(s) == 1
    assert fact_tasks.refresh_facts_task() == 1
    with session_scope() as s:
        assert facts.pending_count(s) == 0
        assert s.get(ConversationFact, ids["C5"]).messages == 3
    assert fact_tasks.reconcile_facts_task() == 9
