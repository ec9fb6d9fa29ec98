"""SLA clocks on tickets, on both databases, with fixed clocks.

Policies: urgent 15/30/240 minutes around the clock; high 60/120/480 minutes of the
Berlin support hours (weekdays 08:00-18:00 local, i.e. 07:00-17:00 UTC in winter).
"""

from __future__ import annotations

import pytest

from handoff import business_hours, sla
from handoff.models import BusinessCalendar, SlaState, TicketStatus
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


@pytest.fixture
def policies(session):
    calendar = berlin_calendar(session)
    return {"urgent": policy(session, "urgent", 15, 30, 240),
            "high": policy(session, "high", 60, 120, 480, calendar=calendar)}


def at(hour: int, minute: int = 0):
    return utc(2026, 1, 12, hour, minute)


def test_a_priority_without_policy_runs_no_clocks(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "low")
    assert ticket.sla_policy_id is None
    assert sla.running_due_times(ticket) == {}
    assert sla.sla_view(ticket, at(11)) == {
        "state": "ok", "first_response_due_at": None, "next_response_due_at": None,
        "resolution_due_at": None, "paused": False, "next_due_at": None, "seconds_left": None}


def test_around_the_clock_targets_count_the_night(session, policies):
    saturday_night = utc(2026, 1, 17, 22, 0)
    ticket = ticket_created_at(session, saturday_night, "urgent")
    assert ticket.sla_policy_id == policies["urgent"].id
    assert ticket.first_response_due_at == utc(2026, 1, 17, 22, 15)
    assert ticket.next_response_due_at is None
    assert ticket.resolution_due_at == utc(2026, 1, 18, 2, 0)
    view = sla.sla_view(ticket, utc(2026, 1, 17, 22, 5))
    assert view["next_due_at"] == "2026-01-17T22:15:00+00:00"
    assert view["seconds_left"] == 600
    assert view["state"] == "ok" and view["paused"] is False


def test_business_hours_targets_skip_the_weekend(session, policies):
    friday_evening = utc(2026, 1, 16, 16, 30)  # 17:30 in Berlin: half an hour left
    ticket = ticket_created_at(session, friday_evening, "high")
    assert ticket.first_response_due_at == utc(2026, 1, 19, 7, 30)
    assert ticket.resolution_due_at == utc(2026, 1, 19, 14, 30)


def test_first_reply_meets_first_response_and_customer_messages_start_next_response(
        session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    customer_writes(session, ticket, at(10, 5))
    assert ticket.next_response_due_at is None  # first response still covers the wait

    agent_replies(session, ticket, at(10, 10))
    assert ticket.first_response_at == at(10, 10)
    assert ticket.first_response_due_at is None
    assert ticket.next_response_due_at is None

    customer_writes(session, ticket, at(10, 20))
    assert ticket.next_response_due_at == at(10, 50)
    customer_writes(session, ticket, at(10, 30))  # a running clock is not restarted
    assert ticket.next_response_due_at == at(10, 50)

    agent_replies(session, ticket, at(10, 40))
    assert ticket.next_response_due_at is None
    assert ticket.resolution_due_at == at(14, 0)


def test_pending_pauses_every_clock_and_resuming_re_adds_what_was_left(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    agent_replies(session, ticket, at(10, 5))
    customer_writes(session, ticket, at(10, 10))
    assert ticket.next_response_due_at == at(10, 40)

    move(session, ticket, TicketStatus.PENDING, at(10, 20))
    assert ticket.sla_paused_at == at(10, 20)
    paused = sla.sla_view(ticket, at(12, 0))
    assert paused["paused"] is True
    assert paused["seconds_left"] == 20 * 60  # frozen at the pause
    assert paused["state"] == "ok"

    move(session, ticket, TicketStatus.OPEN, at(12, 20))
    assert ticket.sla_paused_at is None
    assert ticket.next_response_due_at == at(12, 40)  # the 20 minutes left, from the resume
    assert ticket.resolution_due_at == at(16, 0)  # shifted by the two hours paused


def test_pause_over_a_weekend_counts_only_business_time(session, policies):
    friday = utc(2026, 1, 16, 15, 0)  # 16:00 in Berlin
    ticket = ticket_created_at(session, friday, "high")
    assert ticket.resolution_due_at == utc(2026, 1, 19, 13, 0)  # 120 Friday + 360 Monday
    agent_replies(session, ticket, utc(2026, 1, 16, 15, 10))

    move(session, ticket, TicketStatus.PENDING, utc(2026, 1, 16, 16, 40))
    # Resumed on Saturday: 20 business minutes were spent paused (Friday 17:40-18:00).
    move(session, ticket, TicketStatus.OPEN, utc(2026, 1, 17, 10, 0))
    assert ticket.resolution_due_at == utc(2026, 1, 19, 13, 20)


def test_on_hold_does_not_pause(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    move(session, ticket, TicketStatus.OPEN, at(10, 1))
    move(session, ticket, TicketStatus.ON_HOLD, at(10, 2))
    assert ticket.sla_paused_at is None
    move(session, ticket, TicketStatus.OPEN, at(11))
    assert ticket.resolution_due_at == at(14)


def test_a_clock_overdue_at_the_pause_keeps_its_due_time(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    move(session, ticket, TicketStatus.PENDING, at(10, 30))
    move(session, ticket, TicketStatus.OPEN, at(11, 0))
    assert ticket.first_response_due_at == at(10, 15)
    assert ticket.resolution_due_at == at(14, 30)


def test_a_customer_message_while_pending_starts_next_response_as_of_the_pause(
        session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    agent_replies(session, ticket, at(10, 5))
    move(session, ticket, TicketStatus.PENDING, at(10, 10))
    customer_writes(session, ticket, at(10, 20))
    move(session, ticket, TicketStatus.OPEN, at(10, 20))
    assert ticket.next_response_due_at == at(10, 50)  # the whole 30 minutes from now
    assert ticket.resolution_due_at == at(14, 10)


def test_solving_stops_the_clocks_and_keeps_the_state_reopening_restarts_next_response(
        session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    agent_replies(session, ticket, at(10, 5))
    move(session, ticket, TicketStatus.OPEN, at(10, 6))
    ticket.sla_state = SlaState.BREACHED  # as the scan left it
    move(session, ticket, TicketStatus.SOLVED, at(10, 30))
    assert sla.running_due_times(ticket) == {}
    assert ticket.sla_state == SlaState.BREACHED

    # The customer writes back: the service notes the message, reopens, then tells the hook.
    ticket.last_customer_message_at = at(11, 0)
    move(session, ticket, TicketStatus.OPEN, at(11, 0))
    assert ticket.next_response_due_at == at(11, 30)
    customer_writes(session, ticket, at(11, 0))
    assert ticket.next_response_due_at == at(11, 30)
    assert ticket.resolution_due_at is None  # resolution was measured to the solve
    assert ticket.sla_state == SlaState.OK

    ticket.priority = "high"  # a priority change does not bring resolution back either
    sla.on_priority_changed(session, ticket, at(11, 5))
    assert ticket.resolution_due_at is None
    assert ticket.next_response_due_at is not None


def test_an_agent_reply_that_reopens_a_ticket_starts_no_clock(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    agent_replies(session, ticket, at(10, 5))
    move(session, ticket, TicketStatus.SOLVED, at(10, 10))
    agent_replies(session, ticket, at(11, 0))  # "one more thing..." reopens it
    move(session, ticket, TicketStatus.OPEN, at(11, 0))
    assert sla.running_due_times(ticket) == {}


def test_a_customer_message_on_a_solved_ticket_leaves_the_clock_to_the_reopen(
        session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    agent_replies(session, ticket, at(10, 5))
    move(session, ticket, TicketStatus.SOLVED, at(10, 10))
    customer_writes(session, ticket, at(10, 30))
    assert ticket.next_response_due_at is None


def test_a_priority_change_keeps_the_business_time_already_used(session, policies):
    monday_morning = utc(2026, 1, 12, 8, 0)  # 09:00 in Berlin
    ticket = ticket_created_at(session, monday_morning, "high")
    assert ticket.first_response_due_at == utc(2026, 1, 12, 9, 0)
    assert ticket.resolution_due_at == utc(2026, 1, 12, 16, 0)

    ticket.priority = "urgent"
    sla.on_priority_changed(session, ticket, utc(2026, 1, 12, 8, 20))
    assert ticket.sla_policy_id == policies["urgent"].id
    # 20 minutes used: the 15-minute target was missed five minutes ago.
    assert ticket.first_response_due_at == utc(2026, 1, 12, 8, 15)
    assert ticket.resolution_due_at == utc(2026, 1, 12, 12, 0)  # 220 of 240 minutes left
    assert sla.sla_view(ticket, utc(2026, 1, 12, 8, 20))["state"] == "breached"


def test_a_priority_change_to_a_priority_without_policy_stops_the_clocks(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    ticket.priority = "low"
    sla.on_priority_changed(session, ticket, at(10, 5))
    assert ticket.sla_policy_id is None
    assert sla.running_due_times(ticket) == {}


def test_a_priority_change_onto_a_policy_starts_its_clocks_from_creation(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "low")
    ticket.priority = "urgent"
    sla.on_priority_changed(session, ticket, at(10, 5))
    assert ticket.first_response_due_at == at(10, 15)
    assert ticket.resolution_due_at == at(14, 0)


def test_a_met_clock_lowers_the_state_the_scan_raised(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    ticket.sla_state = SlaState.BREACHED  # the first response was missed
    agent_replies(session, ticket, at(10, 20))
    assert ticket.sla_state == SlaState.OK  # resolution is far off
    # The hooks never raise it: that is the scan's job, with its notifications.
    customer_writes(session, ticket, at(10, 30))
    agent_replies(session, ticket, at(11, 30))
    assert ticket.sla_state == SlaState.OK


def test_the_view_reads_an_overdue_clock_as_breached_before_the_scan_runs(session, policies):
    ticket = ticket_created_at(session, MONDAY_10, "urgent")
    view = sla.sla_view(ticket, at(10, 20))
    assert view["state"] == "breached"
    assert view["seconds_left"] == -300
    assert view["first_response_due_at"] == "2026-01-12T10:15:00+00:00"
    assert view["resolution_due_at"] == "2026-01-12T14:00:00+00:00"


def test_clock_readings_use_business_time_for_near_breach(session, policies):
    friday_evening = utc(2026, 1, 16, 16, 30)
    ticket = ticket_created_at(session, friday_evening, "high")
    # Sunday: two days on the wall clock, but only 30 business minutes of 60 left.
    readings = {r.clock: r for r in sla.read_clocks(session, ticket, utc(2026, 1, 18, 12))}
    assert readings["first_response"].business_minutes_left == 30
    assert readings["first_response"].level == SlaState.OK
    # Monday 08:20 Berlin: 10 of 60 minutes left, under the 20 % warning line.
    readings = {r.clock: r for r in sla.read_clocks(session, ticket, utc(2026, 1, 19, 7, 20))}
    assert readings["first_response"].level == SlaState.NEAR_BREACH
    assert readings["resolution"].level == SlaState.OK


def test_demo_service_levels_seed_once_and_drive_the_clocks(session):
    from app.demo import seed_service_levels

    first = seed_service_levels(session)
    assert first["sla_policies_created"] == 4
    assert seed_service_levels(session)["sla_policies_created"] == 0
    calendar = session.get(BusinessCalendar, first["calendar_id"])
    assert business_hours.validate_weekly_hours(calendar.weekly_hours) == calendar.weekly_hours
    friday_evening = utc(2026, 1, 16, 16, 30)  # 17:30 in Berlin
    high = ticket_created_at(session, friday_evening, "high")
    assert high.first_response_due_at == utc(2026, 1, 19, 7, 30)  # Monday 08:30 Berlin
    urgent = ticket_created_at(session, friday_evening, "urgent")
    assert urgent.first_response_due_at == utc(2026, 1, 16, 16, 45)  # around the clock
