"""Calendars, policies and tickets on fixed clocks for the SLA and escalation tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from handoff import sla
from handoff.models import BusinessCalendar, SlaPolicy, Ticket
from tests.factories import make_ticket

WORKDAY = [["08:00", "18:00"]]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def berlin_calendar(session: Session) -> BusinessCalendar:
    calendar = BusinessCalendar(
        name="Support hours", timezone="Europe/Berlin", always_open=False,
        weekly_hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), WORKDAY),
        holidays=["2026-12-25"])
    session.add(calendar)
    session.flush()
    return calendar


def policy(session: Session, priority: str, first: int | None, following: int | None,
           resolution: int | None, calendar: BusinessCalendar | None = None,
           warn_ratio: float = 0.2) -> SlaPolicy:
    row = SlaPolicy(priority=priority, first_response_minutes=first,
                    next_response_minutes=following, resolution_minutes=resolution,
                    calendar_id=calendar.id if calendar else None, warn_ratio=warn_ratio)
    session.add(row)
    session.flush()
    return row


def ticket_created_at(session: Session, created: datetime, priority: str = "normal") -> Ticket:
    """A ticket built through the service, then set on a fixed clock: created at `created`
    with the given priority, its clocks started by the same hook the service calls."""
    ticket = make_ticket(session)
    ticket.priority = priority
    ticket.created_at = ticket.updated_at = created
    ticket.last_customer_message_at = created  # the customer's message that opened it
    ticket.sla_paused_at = None
    sla.on_ticket_created(session, ticket, created)
    session.flush()
    return ticket


def agent_replies(session: Session, ticket: Ticket, now: datetime) -> None:
    """What the ticket service does on an agent's reply."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.last_agent_reply_at = now
    sla.on_agent_reply(session, ticket, now)


def customer_writes(session: Session, ticket: Ticket, now: datetime) -> None:
    ticket.last_customer_message_at = now
    sla.on_customer_message(session, ticket, now)


def move(session: Session, ticket: Ticket, status: str, now: datetime) -> None:
    before = ticket.status
    ticket.status = status
    sla.on_status_changed(session, ticket, before, now)
