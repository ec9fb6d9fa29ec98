"""Configuring calendars and SLA policies over the API, and reading my notifications."""

from __future__ import annotations

import pytest

from core import audit
from core.database import session_scope
from handoff import notifications
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer
from tests.factories import make_user

SUPPORT = "/api/v1/support"
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
CALENDAR = {"name": "Berlin office", "timezone": "Europe/Berlin",
            "weekly_hours": WEEKDAYS_9_TO_5, "holidays": ["2026-12-25"]}


@pytest.fixture
def world(db_url):
    with session_scope() as s:
        users = {role: make_user(s, role=role) for role in ("supervisor", "agent", "analyst")}
        headers = {role: bearer(s, user) for role, user in users.items()}
        ids = {role: user.id for role, user in users.items()}
    with api_client() as client:
        yield client, headers, ids


def test_a_supervisor_manages_calendars_and_every_change_is_audited(world):
    client, headers, ids = world
    sam = headers["supervisor"]
    created = client.post(f"{SUPPORT}/calendars", json=CALENDAR, headers=sam)
    assert created.status_code == 201, created.text
    calendar = created.json()
    assert calendar["weekly_hours"]["mon"] == [["09:00", "17:00"]]
    assert calendar["weekly_hours"]["sat"] == []
    assert calendar["always_open"] is False

    changed = client.put(f"{SUPPORT}/calendars/{calendar['id']}", headers=sam,
                         json={**CALENDAR, "timezone": "America/New_York",
                               "holidays": ["2026-11-26", "2026-07-03"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["holidays"] == ["2026-07-03", "2026-11-26"]
    assert [c["name"] for c in client.get(f"{SUPPORT}/calendars", headers=sam).json()] == \
        ["Berlin office"]

    assert client.delete(f"{SUPPORT}/calendars/{calendar['id']}", headers=sam).status_code == 204
    assert client.get(f"{SUPPORT}/calendars", headers=sam).json() == []
    with session_scope() as s:
        entries = audit.search(s, audit.AuditFilter(target=f"business_calendar:{calendar['id']}"))
    assert [e.action for e in reversed(entries)] == [
        "business_calendar.created", "business_calendar.updated", "business_calendar.deleted"]
    assert all(e.actor_user_id == ids["supervisor"] for e in entries)
    assert entries[1].before["timezone"] == "Europe/Berlin"
    assert entries[1].after["timezone"] == "America/New_York"


CALENDAR_MISTAKES = [
    ({"timezone": "Mars/Olympus_Mons"}, 422, "timezone"),
    ({"weekly_hours": {"mon": [["09:00", "12:00"], ["11:30", "17:00"]]}}, 422,
     "weekly_hours.mon"),
    ({"weekly_hours": {"tue": [["17:00", "09:00"]]}}, 422, "weekly_hours.tue"),
    ({"weekly_hours": {"wed": [["9am", "5pm"]]}}, 422, "weekly_hours.wed"),
    ({"weekly_hours": {"thu": "09:00-17:00"}}, 422, "weekly_hours.thu"),
    ({"weekly_hours": {}}, 422, "weekly_hours"),
    ({"holidays": ["25/12/2026"]}, 422, "holidays"),
    ({"name": "  "}, 422, "name"),
]


def test_calendar_validation_names_the_field(world):
    client, headers, _ = world
    for change, status, field in CALENDAR_MISTAKES:
        response = client.post(f"{SUPPORT}/calendars", json={**CALENDAR, **change},
                               headers=headers["supervisor"])
        assert response.status_code == status, (change, response.text)
        assert response.json()["field"] == field, change


def test_a_24_7_calendar_needs_no_hours_but_names_are_unique(world):
    client, headers, _ = world
    sam = headers["supervisor"]
    always = {"name": "Always", "timezone": "UTC", "always_open": True}
    assert client.post(f"{SUPPORT}/calendars", json=always, headers=sam).status_code == 201
    again = client.post(f"{SUPPORT}/calendars", json=always, headers=sam)
    assert again.status_code == 409 and again.json()["field"] == "name"


def test_policies_per_priority(world):
    client, headers, _ = world
    sam = headers["supervisor"]
    calendar = client.post(f"{SUPPORT}/calendars", json=CALENDAR, headers=sam).json()
    high = client.post(f"{SUPPORT}/sla-policies", headers=sam, json={
        "priority": "high", "first_response_minutes": 60, "next_response_minutes": 120,
        "resolution_minutes": 480, "calendar_id": calendar["id"]})
    assert high.status_code == 201, high.text
    assert high.json()["warn_ratio"] == 0.2
    urgent = client.post(f"{SUPPORT}/sla-policies", headers=sam, json={
        "priority": "urgent", "first_response_minutes": 15, "resolution_minutes": 240})
    assert urgent.status_code == 201, urgent.text
    listed = client.get(f"{SUPPORT}/sla-policies", headers=sam).json()
    assert [p["priority"] for p in listed] == ["urgent", "high"]

    updated = client.put(f"{SUPPORT}/sla-policies/{urgent.json()['id']}", headers=sam, json={
        "priority": "urgent", "first_response_minutes": 10, "resolution_minutes": 120,
        "warn_ratio": 0.3})
    assert updated.status_code == 200 and updated.json()["first_response_minutes"] == 10

    in_use = client.delete(f"{SUPPORT}/calendars/{calendar['id']}", headers=sam)
    assert in_use.status_code == 409 and "SLA policy 'high'" in in_use.json()["message"]
    assert client.delete(f"{SUPPORT}/sla-policies/{high.json()['id']}",
                         headers=sam).status_code == 204
    assert client.delete(f"{SUPPORT}/calendars/{calendar['id']}", headers=sam).status_code == 204
    assert client.put(f"{SUPPORT}/sla-policies/999999", headers=sam,
                      json={"priority": "low", "resolution_minutes": 5}).status_code == 404


POLICY_MISTAKES = [
    ({"priority": "critical", "first_response_minutes": 10}, 422, "priority"),
    ({"priority": "low", "first_response_minutes": 0}, 422, "first_response_minutes"),
    ({"priority": "low", "resolution_minutes": -5}, 422, "resolution_minutes"),
    ({"priority": "low"}, 422, "first_response_minutes"),
    ({"priority": "low", "first_response_minutes": 10, "warn_ratio": 1.5}, 422, "warn_ratio"),
    ({"priority": "low", "first_response_minutes": 10, "calendar_id": 999999}, 422,
     "calendar_id"),
    ({"priority": "low", "first_response_minutes": "soon"}, 422, "first_response_minutes"),
    ({"priority": "normal", "first_response_minutes": 10}, 409, "priority"),
]


def test_policy_validation_names_the_field(world):
    client, headers, _ = world
    sam = headers["supervisor"]
    existing = client.post(f"{SUPPORT}/sla-policies", headers=sam,
                           json={"priority": "normal", "first_response_minutes": 240})
    assert existing.status_code == 201
    for body, status, field in POLICY_MISTAKES:
        response = client.post(f"{SUPPORT}/sla-policies", json=body, headers=sam)
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"] == field, body
    assert [p["priority"] for p in client.get(f"{SUPPORT}/sla-policies", headers=sam).json()] \
        == ["normal"]


def test_agents_may_not_configure_service_levels(world):
    client, headers, _ = world
    for method, path in [("GET", "/calendars"), ("POST", "/calendars"),
                         ("GET", "/sla-policies"), ("POST", "/sla-policies")]:
        response = client.request(method, f"{SUPPORT}{path}", headers=headers["agent"],
                                  json=CALENDAR if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert "support.configure" in response.json()["message"]
    assert client.get(f"{SUPPORT}/calendars").status_code == 401


def test_my_notifications_unread_first_and_marking_one_read(world):
    client, headers, ids = world
    with session_scope() as s:
        older = notifications.create(s, ids["agent"], kind="sla_warning", text="Ticket #1 ...")
        s.flush()
        newer = notifications.create(s, ids["agent"], kind="sla_breached", text="Ticket #2 ...")
        others = notifications.create(s, ids["supervisor"], kind="sla_warning", text="not yours")
        s.flush()
        older_id, newer_id, others_id = older.id, newer.id, others.id

    mine = client.get("/api/v1/agent/notifications", headers=headers["agent"]).json()
    assert mine["unread"] == 2
    assert {n["id"] for n in mine["items"]} == {older_id, newer_id}

    read = client.post(f"/api/v1/agent/notifications/{newer_id}/read", headers=headers["agent"])
    assert read.status_code == 200 and read.json()["read"] is True
    mine = client.get("/api/v1/agent/notifications", headers=headers["agent"]).json()
    assert mine["unread"] == 1
    assert [n["id"] for n in mine["items"]] == [older_id, newer_id]  # unread first
    unread = client.get("/api/v1/agent/notifications?unread=true", headers=headers["agent"])
    assert [n["id"] for n in unread.json()["items"]] == [older_id]

    assert client.post(f"/api/v1/agent/notifications/{others_id}/read",
                       headers=headers["agent"]).status_code == 404
    assert client.get("/api/v1/agent/notifications",
                      headers=headers["analyst"]).status_code == 403
