"""A ticket's history: every change, with who made it, when, and the values before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.models import User
from core.database import utcnow
from handoff.models import Ticket, TicketEvent


def record(session: Session, ticket: Ticket, actor_id: int | None, action: str,
           before: Any = None, after: Any = None, note: str | None = None) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, actor_id=actor_id, action=action, before=before,
                        after=after, note=note, created_at=utcnow())
    session.add(event)
    ticket.updated_at = event.created_at
    return event


def history_of(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(TicketEvent, User.display_name)
        .outerjoin(User, User.id == TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.id)
    ).tuples()
    return [{"id": event.id, "action": event.action, "actor_id": event.actor_id,
             "actor_name": name, "before": event.before, "after": event.after,
             "note": event.note, "created_at": event.created_at.isoformat()}
            for event, name in rows]
