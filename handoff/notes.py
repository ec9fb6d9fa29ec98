"""Internal notes on a ticket: stored apart from the transcript, shown to staff only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.service import AGENTS_TOPIC
from core.auth.models import User
from core.auth.service import Principal
from core.database import utcnow
from core.realtime import publish_after_commit
from handoff.models import TicketNote
from handoff.schemas import NoteOut
from handoff.visibility import get_visible_ticket


def add_note(session: Session, ticket_id: int, agent: Principal, text: str) -> TicketNote:
    """An internal note: stored apart from the transcript and published to staff only."""
    ticket = get_visible_ticket(session, ticket_id, agent)
    body = conversations.validate_text(text)
    note = TicketNote(ticket_id=ticket.id, author_id=agent.user_id, body=body,
                      created_at=utcnow())
    session.add(note)
    session.flush()
    ticket.updated_at = note.created_at
    publish_after_commit(session, AGENTS_TOPIC, {
        "type": "note.created", "ticket_id": ticket.id,
        "note": NoteOut.of(note, agent.display_name).model_dump()})
    return note


def notes_of(session: Session, ticket_id: int) -> list[NoteOut]:
    rows = session.execute(select(TicketNote, User.display_name)
                           .outerjoin(User, User.id == TicketNote.author_id)
                           .where(TicketNote.ticket_id == ticket_id)
                           .order_by(TicketNote.id)).tuples()
    return [NoteOut.of(note, name) for note, name in rows]
