"""Watching a ticket: followers see it whatever its team, and hear of its changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.service import Principal
from handoff import history
from handoff.models import Ticket, TicketWatcher
from handoff.visibility import get_visible_ticket


def watch(session: Session, ticket_id: int, user: Principal, *, on: bool) -> Ticket:
    ticket = get_visible_ticket(session, ticket_id, user)
    existing = session.get(TicketWatcher, (ticket.id, user.user_id))
    if on and existing is None:
        session.add(TicketWatcher(ticket_id=ticket.id, user_id=user.user_id))
        history.record(session, ticket, user.user_id, "watchers", after={"added": user.user_id})
    elif not on and existing is not None:
        session.delete(existing)
        history.record(session, ticket, user.user_id, "watchers",
                       after={"removed": user.user_id})
    session.flush()
    return ticket


def watcher_ids(session: Session, ticket_id: int) -> list[int]:
    return sorted(session.scalars(select(TicketWatcher.user_id)
                                  .where(TicketWatcher.ticket_id == ticket_id)))
