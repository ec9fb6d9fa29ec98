"""Finding tickets by id or by conversation, without any visibility rule (see
handoff.visibility for what a given person may see)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from handoff.models import ACTIVE_STATUSES, Ticket


def latest_ticket_for(session: Session, conversation_id: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.conversation_id == conversation_id)
                          .order_by(Ticket.id.desc()).limit(1))


def followed_to_target(session: Session, ticket: Ticket | None) -> Ticket | None:
    """A merged ticket's place is taken by the ticket it went into (transitively)."""
    while ticket is not None and ticket.merged_into_id is not None:
        ticket = session.get(Ticket, ticket.merged_into_id)
    return ticket


def open_ticket_for(session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's active ticket; a merged ticket answers with the one it went into."""
    ticket = followed_to_target(session, latest_ticket_for(session, conversation_id))
    if ticket is None or ticket.status not in ACTIVE_STATUSES:
        return None
    return ticket


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    return ticket
