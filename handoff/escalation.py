"""The periodic SLA scan: warn before a target is missed, escalate when it is.

`scan` reads the running clocks of every active ticket that is not paused (handoff.sla)
and raises `sla_state` to the worst level among them: near_breach when a clock has less
than the policy's `warn_ratio` of its target left, breached when a due time has passed.
A level is announced once: the ticket's state remembers it, so running the scan again
(or twice at once: the rows are locked) notifies nobody twice. The hooks in handoff.sla
lower the state again when the clock that caused it stops.

On a breach the ticket's priority goes up one level (up to urgent) so it rises in every
queue. Deliberately without re-targeting the clocks (sla.on_priority_changed): the target
that was missed stays the one it was measured against, and the next clocks keep theirs.

Who hears of it: the supervisors of the ticket's team (every supervisor when the ticket
has no team or its team has none), and the assignee.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from conversations.service import AGENTS_TOPIC
from core.auth.models import User
from core.auth.permissions import Role
from core.events import emit
from core.realtime import publish_after_commit
from handoff import history, notifications, sla
from handoff.models import PRIORITY_ORDER, SlaState, TeamMember, Ticket, TicketStatus

SCANNED_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD)
CLOCK_NAMES = {"first_response": "first response", "next_response": "next response",
               "resolution": "resolution"}


def scan(session: Session, now: datetime) -> dict[str, Any]:
    """Escalate every ticket whose SLA level rose since the last scan. Returns what it did:
    {"checked", "near_breach": [ticket ids], "breached": [ticket ids], "notified"}."""
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(SCANNED_STATUSES), Ticket.sla_paused_at.is_(None),
               Ticket.sla_state != SlaState.BREACHED,  # nothing left to announce
               or_(Ticket.first_response_due_at.is_not(None),
                   Ticket.next_response_due_at.is_not(None),
                   Ticket.resolution_due_at.is_not(None)))
        .order_by(Ticket.id)
        .with_for_update(skip_locked=True)
    ).all()
    outcome: dict[str, Any] = {"checked": len(tickets), "near_breach": [], "breached": [],
                               "notified": 0}
    for ticket in tickets:
        readings = sla.read_clocks(session, ticket, now)
        level = sla.worst_level(readings)
        current = SlaState(ticket.sla_state or SlaState.OK)
        if sla.STATE_RANK[level] <= sla.STATE_RANK[current]:
            continue
        worst = next(r for r in readings if r.level == level)
        outcome["notified"] += _escalate(session, ticket, level, worst, now)
        outcome["breached" if level == SlaState.BREACHED else "near_breach"].append(ticket.id)
    return outcome


def _escalate(session: Session, ticket: Ticket, level: SlaState, reading: sla.ClockReading,
              now: datetime) -> int:
    before = {"sla_state": ticket.sla_state, "priority": ticket.priority}
    ticket.sla_state = level
    ticket.escalated_at = now
    if level == SlaState.BREACHED:
        ticket.priority = _raised(ticket.priority)
    after = {"sla_state": ticket.sla_state, "priority": ticket.priority,
             "clock": reading.clock, "due_at": reading.due_at.isoformat()}
    clock = CLOCK_NAMES[reading.clock]
    if level == SlaState.BREACHED:
        text = (f"Ticket #{ticket.id} breached its {clock} target "
                f"(due {reading.due_at:%Y-%m-%d %H:%M} UTC)")
    else:
        text = (f"Ticket #{ticket.id} is close to its {clock} target "
                f"(due {reading.due_at:%Y-%m-%d %H:%M} UTC)")
    history.record(session, ticket, None, "sla", before, after, note=text)
    kind = "sla_breached" if level == SlaState.BREACHED else "sla_warning"
    created = [notifications.create(session, user_id, kind=kind, ticket_id=ticket.id,
                                    text=text, now=now)
               for user_id in _recipients(session, ticket)]
    session.flush()
    for notification in created:
        publish_after_commit(session, AGENTS_TOPIC, {
            "type": "notification", "user_id": notification.user_id,
            "notification": notifications.to_dict(notification)})
    publish_after_commit(session, AGENTS_TOPIC, {"type": "ticket.updated",
                                                 "ticket_id": ticket.id})
    emit(session, "ticket.sla_breached" if level == SlaState.BREACHED else "ticket.sla_warning",
         {"ticket_id": ticket.id, "clock": reading.clock, "due_at": reading.due_at.isoformat(),
          "sla_state": str(level), "priority": ticket.priority,
          "previous_priority": before["priority"], "team_id": ticket.team_id,
          "assignee_id": ticket.assignee_id, "escalated_at": now.isoformat()})
    return len(created)


def _raised(priority: str) -> str:
    order = [str(p) for p in PRIORITY_ORDER]
    if priority not in order:
        return priority
    return order[min(order.index(priority) + 1, len(order) - 1)]


def _recipients(session: Session, ticket: Ticket) -> list[int]:
    supervisors = select(User.id).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))
    team_supervisors: list[int] = []
    if ticket.team_id is not None:
        team_supervisors = list(session.scalars(
            supervisors.join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == ticket.team_id).order_by(User.id)))
    recipients = team_supervisors or list(session.scalars(supervisors.order_by(User.id)))
    if ticket.assignee_id is not None and ticket.assignee_id not in recipients:
        assignee_active = session.scalar(select(User.is_active).where(
            User.id == ticket.assignee_id))
        if assignee_active:
            recipients.append(ticket.assignee_id)
    return recipients
