"""The periodic SLA scan: warnings, breaches, who is told, and that nobody is told twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.database import session_scope
from core.errors import NotFound
from handoff import escalation, notifications
from handoff.models import (
    Notification,
    SlaState,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from tests.factories import make_user
from tests.handoff.sla_helpers import (
    agent_replies,
    berlin_calendar,
    customer_writes,
    move,
    policy,
    ticket_created_at,
    utc,
)

MONDAY_10 = utc(2026, 1, 12, 10, 0)


def at(hour: int, minute: int = 0):
    return utc(2026, 1, 12, hour, minute)


@pytest.fixture
def policies(session):
    calendar = berlin_calendar(session)
    return {"urgent": policy(session, "urgent", 15, 30, 240),
            "high": policy(session, "high", 60, 120, 480),
            "normal": policy(session, "normal", 240, 480, 1440, calendar=calendar)}


@pytest.fixture
def published(monkeypatch):
    """What the scan publishes and emits (both happen after commit / to listeners)."""
    seen = {"realtime": [], "events": []}
    monkeypatch.setattr(escalation, "publish_after_commit",
                        lambda _s, topic, payload: seen["realtime"].append((topic, payload)))
    monkeypatch.setattr(escalation, "emit",
                        lambda _s, name, payload: seen["events"].append((name, payload)))
    return seen


@pytest.fixture
def team_with_staff(session):
    team = Team(slug="billing", name="Billing")
    other = Team(slug="returns", name="Returns")
    session.add_all([team, other])
    session.flush()
    lead = make_user(session, role="supervisor")
    other_lead = make_user(session, role="supervisor")
    former_lead = make_user(session, role="supervisor")
    former_lead.is_active = False
    agent = make_user(session, role="agent")
    session.add_all([TeamMember(team_id=team.id, user_id=lead.id),
                     TeamMember(team_id=team.id, user_id=former_lead.id),
                     TeamMember(team_id=team.id, user_id=agent.id),
                     TeamMember(team_id=other.id, user_id=other_lead.id)])
    session.flush()
    return {"team": team, "lead": lead, "other_lead": other_lead, "agent": agent}


def _notified(session, ticket_id):
    return sorted((n.user_id, n.kind) for n in session.scalars(
        select(Notification).where(Notification.ticket_id == ticket_id)))


def test_near_breach_warns_the_team_supervisors_and_the_assignee_once(
        session, policies, team_with_staff, published):
    staff = team_with_staff
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    ticket.team_id, ticket.assignee_id = staff["team"].id, staff["agent"].id

    assert escalation.scan(session, at(10, 11))["near_breach"] == []  # 4 of 15 minutes left
    outcome = escalation.scan(session, at(10, 13))  # 2 minutes left: under 20 %
    assert outcome["near_breach"] == [ticket.id] and outcome["notified"] == 2
    assert ticket.sla_state == SlaState.NEAR_BREACH
    assert ticket.escalated_at == at(10, 13)
    assert ticket.priority == "urgent"
    assert _notified(session, ticket.id) == sorted([(staff["lead"].id, "sla_warning"),
                                                    (staff["agent"].id, "sla_warning")])

    again = escalation.scan(session, at(10, 14))
    assert again["near_breach"] == [] and again["notified"] == 0
    assert len(_notified(session, ticket.id)) == 2

    assert [name for name, _ in published["events"]] == ["ticket.sla_warning"]
    assert published["events"][0][1]["clock"] == "first_response"
    kinds = [payload["type"] for _, payload in published["realtime"]]
    assert sorted(kinds) == ["notification", "notification", "ticket.updated"]
    assert {payload["user_id"] for _, payload in published["realtime"]
            if payload["type"] == "notification"} == {staff["lead"].id, staff["agent"].id}


def test_a_breach_raises_priority_without_moving_the_due_times(session, policies,
                                                               team_with_staff, published):
    ticket = ticket_created_at(session, MONDAY_10, "high")
    ticket.team_id = team_with_staff["team"].id
    due_before = (ticket.first_response_due_at, ticket.resolution_due_at)

    outcome = escalation.scan(session, at(11, 0))  # exactly due: breached
    assert outcome["breached"] == [ticket.id]
    assert ticket.sla_state == SlaState.BREACHED
    assert ticket.priority == "urgent"
    assert ticket.sla_policy_id == policies["high"].id
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == due_before
    session.flush()
    [event] = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.action == "sla"))
    assert event.before == {"sla_state": "ok", "priority": "high"}
    assert event.after["sla_state"] == "breached" and event.after["priority"] == "urgent"
    assert event.after["clock"] == "first_response"
    assert "breached its first response target" in event.note
    assert [name for name, _ in published["events"]] == ["ticket.sla_breached"]
    assert published["events"][0][1]["previous_priority"] == "high"

    assert escalation.scan(session, at(11, 30))["breached"] == []
    assert ticket.priority == "urgent"


def test_a_warning_then_a_breach_notify_twice_then_never_again(session, policies,
                                                                team_with_staff, published):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    ticket.team_id = team_with_staff["team"].id
    escalation.scan(session, at(10, 13))
    escalation.scan(session, at(10, 16))
    escalation.scan(session, at(10, 17))
    lead = team_with_staff["lead"].id
    assert _notified(session, ticket.id) == [(lead, "sla_breached"), (lead, "sla_warning")]


def test_without_a_team_every_active_supervisor_is_told(session, policies, team_with_staff,
                                                        published):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    ticket.team_id = None
    escalation.scan(session, at(10, 20))
    assert {user for user, _ in _notified(session, ticket.id)} == {
        team_with_staff["lead"].id, team_with_staff["other_lead"].id}


def test_paused_solved_and_unclocked_tickets_are_left_alone(session, policies, published):
    pending = ticket_created_at(session, MONDAY_10, "urgent")
    move(session, pending, TicketStatus.PENDING, at(10, 5))
    solved = ticket_created_at(session, MONDAY_10, "urgent")
    move(session, solved, TicketStatus.SOLVED, at(10, 5))
    unclocked = ticket_created_at(session, MONDAY_10, "low")
    outcome = escalation.scan(session, at(18, 0))
    assert outcome["checked"] == 0
    assert outcome["breached"] == [] and outcome["near_breach"] == []
    assert {t.sla_state for t in (pending, solved, unclocked)} == {SlaState.OK}


def test_near_breach_is_measured_in_business_time(session, policies, published):
    friday_evening = utc(2026, 1, 16, 15, 0)  # 16:00 in Berlin
    ticket = ticket_created_at(session, friday_evening, "normal")
    # First response: 120 minutes Friday, 120 Monday: due Monday 09:00 UTC.
    assert ticket.first_response_due_at == utc(2026, 1, 19, 9, 0)
    assert escalation.scan(session, utc(2026, 1, 18, 12))["near_breach"] == []
    # Monday 08:15 UTC: 45 of 240 business minutes left, under 20 %.
    assert escalation.scan(session, utc(2026, 1, 19, 8, 15))["near_breach"] == [ticket.id]


def test_a_met_clock_lets_the_next_one_escalate_again(session, policies, team_with_staff,
                                                      published):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    ticket.team_id = team_with_staff["team"].id
    escalation.scan(session, at(10, 20))  # first response breached
    assert ticket.sla_state == SlaState.BREACHED
    agent_replies(session, ticket, at(10, 25))
    assert ticket.sla_state == SlaState.OK
    customer_writes(session, ticket, at(10, 30))  # next response due 11:00
    assert escalation.scan(session, at(10, 40))["breached"] == []
    assert escalation.scan(session, at(11, 1))["breached"] == [ticket.id]
    lead = team_with_staff["lead"].id
    assert _notified(session, ticket.id) == [(lead, "sla_breached"), (lead, "sla_breached")]


def test_notifications_list_unread_first_and_only_their_owner_marks_them_read(session):
    owner, other = make_user(session), make_user(session)
    first = notifications.create(session, owner.id, kind="sla_warning", text="one",
                                 now=at(9))
    second = notifications.create(session, owner.id, kind="sla_breached", text="two",
                                  now=at(10))
    notifications.create(session, other.id, kind="sla_warning", text="not yours", now=at(10))
    session.flush()
    notifications.mark_read(session, owner.id, second.id, now=at(11))
    assert [n.id for n in notifications.list_for(session, owner.id)] == [first.id, second.id]
    assert notifications.unread_count(session, owner.id) == 1
    with pytest.raises(NotFound):
        notifications.mark_read(session, other.id, first.id)
    assert notifications.to_dict(second)["read"] is True


def test_the_beat_runs_the_scan_every_minute_in_its_own_unit_of_work(db_url, published):
    from app.worker import TASK_MODULES, celery_app
    from handoff.tasks import scan_sla_task

    assert "handoff.tasks" in TASK_MODULES
    schedule = {entry["task"]: entry["schedule"]
                for entry in celery_app.conf.beat_schedule.values()}
    assert schedule["handoff.scan_sla"] == 60.0

    with session_scope() as s:
        policy(s, "urgent", 15, 30, 240)
        ticket_id = ticket_created_at(s, MONDAY_10, "urgent").id  # long overdue by now
    outcome = scan_sla_task()
    assert outcome["breached"] == [ticket_id]
    with session_scope() as s:
        assert s.get(Ticket, ticket_id).sla_state == SlaState.BREACHED
