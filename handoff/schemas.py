"""The ticket as screens, the API and live events show it: Pydantic models built from the
database rows. Times are ISO 8601 strings as `datetime.isoformat` writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation
from core.auth.models import User
from core.auth.service import Principal
from core.database import utcnow
from core.schemas import Timestamp
from handoff import sla
from handoff.models import Team, Ticket, TicketNote, TicketWatcher
from handoff.visibility import allowed_actions


class SlaView(BaseModel):
    """See handoff.sla.sla_view."""

    state: str
    first_response_due_at: Timestamp | None
    next_response_due_at: Timestamp | None
    resolution_due_at: Timestamp | None
    paused: bool
    next_due_at: Timestamp | None
    seconds_left: int | None


class TicketOut(BaseModel):
    id: int
    conversation_id: str
    status: str
    priority: str
    reason: str
    detected_intent: str | None
    intent_confidence: float | None
    subject: str
    category: str | None
    tags: list[str]
    assignee_id: int | None
    team_id: int | None
    merged_into_id: int | None
    reply_by_email: bool
    created_at: Timestamp
    updated_at: Timestamp | None
    claimed_at: Timestamp | None
    first_response_at: Timestamp | None
    solved_at: Timestamp | None
    closed_at: Timestamp | None
    sla: SlaView

    @classmethod
    def of(cls, ticket: Ticket, now: datetime | None = None) -> TicketOut:
        return cls(**_ticket_fields(ticket, now or utcnow()))


def _ticket_fields(ticket: Ticket, now: datetime) -> dict[str, Any]:
    return {
        "id": ticket.id, "conversation_id": ticket.conversation_id, "status": ticket.status,
        "priority": ticket.priority, "reason": ticket.reason,
        "detected_intent": ticket.detected_intent,
        "intent_confidence": ticket.intent_confidence, "subject": ticket.subject,
        "category": ticket.category, "tags": list(ticket.tags or []),
        "assignee_id": ticket.assignee_id, "team_id": ticket.team_id,
        "merged_into_id": ticket.merged_into_id, "reply_by_email": ticket.reply_by_email,
        "created_at": ticket.created_at, "updated_at": ticket.updated_at,
        "claimed_at": ticket.claimed_at, "first_response_at": ticket.first_response_at,
        "solved_at": ticket.solved_at, "closed_at": ticket.closed_at,
        "sla": sla.sla_view(ticket, now),
    }


class TicketRow(TicketOut):
    """A ticket with the names a screen needs, and what the viewer may do to it."""

    assignee_name: str | None
    team_name: str | None
    watcher_ids: list[int]
    channel: str | None
    customer_name: str | None
    customer_email: str | None
    customer_locale: str | None = Field(description="The customer's language, e.g. `zh-CN`")
    allowed_actions: list[str]


class QueueRow(TicketRow):
    message_count: int


def describe_tickets(session: Session, tickets: list[Ticket],
                     viewer: Principal) -> list[TicketRow]:
    """Tickets with assignee, team, customer and channel read in one query each."""
    if not tickets:
        return []
    user_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    team_ids = {t.team_id for t in tickets if t.team_id is not None}
    names = dict(session.execute(select(User.id, User.display_name)
                                 .where(User.id.in_(user_ids))).tuples().all())
    teams = dict(session.execute(select(Team.id, Team.name)
                                 .where(Team.id.in_(team_ids))).tuples().all())
    convs = {c.id: c for c in session.scalars(select(Conversation).where(
        Conversation.id.in_({t.conversation_id for t in tickets})))}
    watchers: dict[int, list[int]] = {}
    for ticket_id, user_id in session.execute(
            select(TicketWatcher.ticket_id, TicketWatcher.user_id)
            .where(TicketWatcher.ticket_id.in_([t.id for t in tickets]))).tuples():
        watchers.setdefault(ticket_id, []).append(user_id)
    now = utcnow()
    rows = []
    for t in tickets:
        conv = convs.get(t.conversation_id)
        rows.append(TicketRow(
            **_ticket_fields(t, now),
            assignee_name=names.get(t.assignee_id) if t.assignee_id else None,
            team_name=teams.get(t.team_id) if t.team_id else None,
            watcher_ids=sorted(watchers.get(t.id, [])),
            channel=conv.channel if conv else None,
            customer_name=conv.customer_name if conv else None,
            customer_email=conv.customer_email if conv else None,
            customer_locale=conv.locale if conv else None,
            allowed_actions=allowed_actions(t, viewer)))
    return rows


class NoteOut(BaseModel):
    """An internal note; `text` like a message's, so transcripts and notes render alike."""

    id: int
    ticket_id: int
    author_id: int | None
    author_name: str | None
    text: str
    created_at: Timestamp

    @classmethod
    def of(cls, note: TicketNote, author_name: str | None) -> NoteOut:
        return cls(id=note.id, ticket_id=note.ticket_id, author_id=note.author_id,
                   author_name=author_name, text=note.body, created_at=note.created_at)


class PreviousConversation(BaseModel):
    """Another ticket of the same customer."""

    conversation_id: str
    ticket_id: int
    subject: str
    status: str
    channel: str
    created_at: Timestamp
