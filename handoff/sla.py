"""SLA clocks on tickets. The ticket service calls these hooks; they only touch the
ticket's SLA columns.

Three clocks, each a due time on the ticket, counted in the business time of the policy's
calendar (24/7 without one). A clock runs while its due time is set:

- first response: from creation; stopped by the first agent reply.
- next response: started by a customer message after an agent reply (when none runs),
  and by the customer's reopening a solved ticket; stopped by the next agent reply.
- resolution: from creation; stopped by solved/closed (a reopen does not restart it).

`pending` pauses them all (`sla_paused_at`). The business minutes a clock had left when
the pause began are re-added from the moment the ticket leaves `pending`. Those minutes
are measured at resume, from `sla_paused_at` to the unchanged due time, which is the same
number as at the pause. A clock already overdue at the pause keeps its due time.

`sla_state` is raised only by the escalation scan (handoff.escalation), which notifies
people when it does. The hooks only ever lower it, when a clock that caused it stops, so a
later clock can escalate again without the same breach being announced twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import business_hours
from handoff.models import BusinessCalendar, SlaPolicy, SlaState, Ticket, TicketStatus

CLOCKS = ("first_response", "next_response", "resolution")
STOPPED_STATUSES = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
STATE_RANK = {SlaState.OK: 0, SlaState.NEAR_BREACH: 1, SlaState.BREACHED: 2}


@dataclass(frozen=True)
class ClockReading:
    clock: str  # first_response | next_response | resolution
    due_at: datetime
    target_minutes: int | None  # None when the policy is gone or no longer sets this clock
    business_minutes_left: float  # negative once overdue
    level: SlaState


# --- hooks (called by handoff.lifecycle) --------------------------------------------------


def on_ticket_created(session: Session, ticket: Ticket, now: datetime) -> None:
    """Pick the policy for the ticket's priority and set the due times."""
    policy = policy_for_priority(session, ticket.priority)
    ticket.sla_policy_id = policy.id if policy else None
    ticket.sla_state = SlaState.OK
    ticket.first_response_due_at = ticket.next_response_due_at = None
    ticket.resolution_due_at = None
    if policy is None:
        return
    calendar = calendar_of(session, policy)
    start = ticket.created_at or now
    if policy.first_response_minutes and ticket.first_response_at is None:
        ticket.first_response_due_at = business_hours.add_business_minutes(
            calendar, start, policy.first_response_minutes)
    if policy.resolution_minutes:
        ticket.resolution_due_at = business_hours.add_business_minutes(
            calendar, start, policy.resolution_minutes)
    if ticket.status == TicketStatus.PENDING:
        ticket.sla_paused_at = now


def on_priority_changed(session: Session, ticket: Ticket, now: datetime) -> None:
    """Re-target the clocks for the new priority's policy.

    Each running clock keeps the business time it has used so far and gets the new
    target's remainder. A clock the old policy did not set (or no old policy) starts
    from its natural beginning instead. While paused, everything is measured at the
    pause, and the resume shift applies as usual."""
    old_policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    new_policy = policy_for_priority(session, ticket.priority)
    if new_policy is None and old_policy is None:
        return
    old_calendar = calendar_of(session, old_policy)
    new_calendar = calendar_of(session, new_policy)
    reference = ticket.sla_paused_at or now
    stopped = ticket.status in STOPPED_STATUSES
    for clock in CLOCKS:
        due = _due(ticket, clock)
        old_target, new_target = _target(old_policy, clock), _target(new_policy, clock)
        if new_target is None:
            _set_due(ticket, clock, None)
        elif due is not None and old_target is not None:
            used = old_target - business_hours.signed_business_minutes(old_calendar,
                                                                       reference, due)
            _set_due(ticket, clock, business_hours.add_business_minutes(
                new_calendar, reference, new_target - used))
        elif due is None and old_target is not None:
            continue  # met or stopped under the old policy: it stays so
        else:
            start = None if stopped else _natural_start(ticket, clock)
            _set_due(ticket, clock, None if start is None else
                     business_hours.add_business_minutes(new_calendar, start, new_target))
    ticket.sla_policy_id = new_policy.id if new_policy else None
    _lower_state(session, ticket, now)


def on_agent_reply(session: Session, ticket: Ticket, now: datetime) -> None:
    """First response met (if first); next-response clock stops until the customer writes."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.first_response_due_at = None
    ticket.next_response_due_at = None
    _lower_state(session, ticket, now)


def on_customer_message(session: Session, ticket: Ticket, now: datetime) -> None:
    """A customer message starts the next-response clock (if none is running).

    Only after an agent has answered: before that the first-response clock covers it.
    On a solved or closed ticket the reopen (on_status_changed) starts it instead."""
    if ticket.next_response_due_at is not None or ticket.first_response_at is None:
        return
    if ticket.status in STOPPED_STATUSES:
        return
    _start_next_response(session, ticket, now)


def on_status_changed(session: Session, ticket: Ticket, before: str, now: datetime) -> None:
    """Entering pending pauses every clock; leaving it shifts the due times by the business
    time spent paused; solved/closed stop the clocks."""
    after = ticket.status
    if after == before:
        return
    if before == TicketStatus.PENDING and ticket.sla_paused_at is not None:
        _resume(session, ticket, now)
    if after in STOPPED_STATUSES:
        # The state stays as it was: a breach that happened is part of the record.
        ticket.first_response_due_at = ticket.next_response_due_at = None
        ticket.resolution_due_at = None
        ticket.sla_paused_at = None
        return
    if after == TicketStatus.PENDING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    if before in STOPPED_STATUSES:
        ticket.next_response_due_at = None
        # Reopened by the customer writing back: they wait for an answer again. An agent's
        # own reply that reopens the ticket leaves nobody waiting.
        if _customer_is_waiting(ticket):
            _start_next_response(session, ticket, now)
    _lower_state(session, ticket, now)


# --- reading the clocks -------------------------------------------------------------------


def policy_for_priority(session: Session, priority: str) -> SlaPolicy | None:
    return session.scalar(select(SlaPolicy).where(SlaPolicy.priority == priority))


def calendar_of(session: Session, policy: SlaPolicy | None) -> BusinessCalendar | None:
    if policy is None or policy.calendar_id is None:
        return None
    return session.get(BusinessCalendar, policy.calendar_id)


def running_due_times(ticket: Ticket) -> dict[str, datetime]:
    return {clock: due for clock in CLOCKS if (due := _due(ticket, clock)) is not None}


def read_clocks(session: Session, ticket: Ticket, now: datetime) -> list[ClockReading]:
    """Every running clock with its level at `now` (paused clocks read as of the pause)."""
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    calendar = calendar_of(session, policy)
    reference = ticket.sla_paused_at or now
    readings = []
    for clock, due in running_due_times(ticket).items():
        target = _target(policy, clock)
        left = business_hours.signed_business_minutes(calendar, reference, due)
        if due <= reference:
            level = SlaState.BREACHED
        elif policy is not None and target and left < policy.warn_ratio * target:
            level = SlaState.NEAR_BREACH
        else:
            level = SlaState.OK
        readings.append(ClockReading(clock, due, target, left, level))
    return sorted(readings, key=lambda reading: reading.due_at)


def worst_level(readings: list[ClockReading]) -> SlaState:
    return max((r.level for r in readings), key=STATE_RANK.__getitem__, default=SlaState.OK)


def sla_view(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The `sla` part of a ticket dict.

    `state` is what the escalation scan last decided, except that a running clock already
    past due reads as breached at once (the scan catches up within its period).
    `seconds_left` is wall-clock time to the soonest due time, negative once overdue;
    while paused it is frozen at the pause (the due times move when the pause ends)."""
    due_times = running_due_times(ticket)
    paused = ticket.sla_paused_at is not None
    next_due = min(due_times.values(), default=None)
    reference = ticket.sla_paused_at or now
    state = ticket.sla_state or SlaState.OK
    if next_due is not None and next_due <= reference:
        state = SlaState.BREACHED
    return {
        "state": str(state),
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "next_response_due_at": _iso(ticket.next_response_due_at),
        "resolution_due_at": _iso(ticket.resolution_due_at),
        "paused": paused,
        "next_due_at": _iso(next_due),
        "seconds_left": (None if next_due is None
                         else int((next_due - reference).total_seconds())),
    }


# --- internals ----------------------------------------------------------------------------


def _due(ticket: Ticket, clock: str) -> datetime | None:
    value: datetime | None = getattr(ticket, f"{clock}_due_at")
    return value


def _set_due(ticket: Ticket, clock: str, due: datetime | None) -> None:
    setattr(ticket, f"{clock}_due_at", due)


def _target(policy: SlaPolicy | None, clock: str) -> int | None:
    if policy is None:
        return None
    minutes: int | None = getattr(policy, f"{clock}_minutes")
    return minutes


def _natural_start(ticket: Ticket, clock: str) -> datetime | None:
    """Where a clock the old policy did not run would have started; None if it would not
    be running now."""
    if clock == "first_response":
        return ticket.created_at if ticket.first_response_at is None else None
    if clock == "resolution":
        return ticket.created_at
    # Next response: the customer has written since the last agent reply.
    if ticket.first_response_at is not None and _customer_is_waiting(ticket):
        return ticket.last_customer_message_at
    return None


def _customer_is_waiting(ticket: Ticket) -> bool:
    wrote, replied = ticket.last_customer_message_at, ticket.last_agent_reply_at
    return wrote is not None and (replied is None or wrote > replied)


def _start_next_response(session: Session, ticket: Ticket, now: datetime) -> None:
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    minutes = _target(policy, "next_response")
    if not minutes:
        return
    # While paused the clock starts as of the pause, so the resume shift re-adds all of it.
    start = ticket.sla_paused_at or now
    ticket.next_response_due_at = business_hours.add_business_minutes(
        calendar_of(session, policy), start, minutes)


def _resume(session: Session, ticket: Ticket, now: datetime) -> None:
    paused_at = ticket.sla_paused_at
    assert paused_at is not None
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    calendar = calendar_of(session, policy)
    for clock, due in running_due_times(ticket).items():
        left = business_hours.business_minutes_between(calendar, paused_at, due)
        if left > 0:
            _set_due(ticket, clock, business_hours.add_business_minutes(calendar, now, left))
    ticket.sla_paused_at = None


def _lower_state(session: Session, ticket: Ticket, now: datetime) -> None:
    current = SlaState(ticket.sla_state or SlaState.OK)
    level = worst_level(read_clocks(session, ticket, now))
    if STATE_RANK[level] < STATE_RANK[current]:
        ticket.sla_state = level


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
