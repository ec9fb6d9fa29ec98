"""Behind every figure: the list of its conversations, and each one's transcript.

The list takes the figure's `metric` and `value` with the report's filters, so it holds
exactly the conversations the figure counted (its `conversations` number is the list's
`total`). Customers' words are masked for readers without pii.read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, SenderType
from core.auth.models import User
from core.errors import NotFound, ValidationFailed
from handoff.models import Team, Ticket
from nlu.pii import mask_text, mask_value
from reporting import derive
from reporting.access import Scope
from reporting.facts import ConversationFact
from reporting.filters import ReportFilters
from reporting.metrics import conversations_behind, meta
from reporting.schemas import (
    DrilldownPage,
    DrilldownRow,
    Transcript,
    TranscriptMessage,
    TranscriptTicket,
)

MAX_LIMIT = 200
PREVIEW_CHARS = derive.PREVIEW_CHARS


def encode_cursor(created_at: datetime, conversation_id: str) -> str:
    raw = f"{created_at.isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, conversation_id = raw.split("|", 1)
        return datetime.fromisoformat(moment), conversation_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("cursor is not one this API gave out", field="cursor") from None


def listing(metric: str, value: str | None, filters: ReportFilters, scope: Scope) -> Any:
    """The conversations behind a figure, newest first (a select of ConversationFact)."""
    condition, _label = conversations_behind(metric, value, filters, scope)
    f = ConversationFact
    return select(f).where(condition).order_by(f.created_at.desc(), f.conversation_id.desc())


def describe(session: Session, facts: Sequence[ConversationFact], scope: Scope
             ) -> list[DrilldownRow]:
    """Rows with names and the first customer message (masked without pii.read)."""
    team_names = dict(session.execute(select(Team.id, Team.name)).tuples().all())
    agent_ids = {f.agent_id for f in facts if f.agent_id is not None}
    agent_names = dict(session.execute(select(User.id, User.display_name)
                                       .where(User.id.in_(agent_ids))).tuples().all()
                       ) if agent_ids else {}
    bodies: dict[int, str] = {}
    if scope.pii:
        message_ids = [f.first_customer_message_id for f in facts
                       if f.first_customer_message_id]
        bodies = dict(session.execute(select(Message.id, Message.body)
                                      .where(Message.id.in_(message_ids))).tuples().all()
                      ) if message_ids else {}
    rows = []
    for fact in facts:
        if scope.pii:
            text = bodies.get(fact.first_customer_message_id or 0)
            body = text[:PREVIEW_CHARS] if text is not None else None
        else:
            body = fact.first_message_masked  # masked when it was rolled up
        rows.append(DrilldownRow(
            conversation_id=fact.conversation_id, created_at=fact.created_at,
            channel=fact.channel, team_id=fact.team_id,
            team=team_names.get(fact.team_id) if fact.team_id is not None else None,
            agent_id=fact.agent_id,
            agent=agent_names.get(fact.agent_id) if fact.agent_id is not None else None,
            outcome=fact.outcome, intent=fact.intent, ticket_status=fact.ticket_status,
            priority=fact.priority, messages=fact.messages, first_customer_message=body))
    return rows


def page(session: Session, metric: str, value: str | None, filters: ReportFilters,
         scope: Scope, *, cursor: str | None, limit: int, pending: int = 0) -> DrilldownPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1 to {MAX_LIMIT}", field="limit")
    condition, label = conversations_behind(metric, value, filters, scope)
    f = ConversationFact
    total = session.scalar(select(func.count()).select_from(f).where(condition)) or 0
    query = listing(metric, value, filters, scope)
    if cursor:
        created_at, conversation_id = decode_cursor(cursor)
        query = query.where(or_(f.created_at < created_at,
                                and_(f.created_at == created_at,
                                     f.conversation_id < conversation_id)))
    facts = list(session.scalars(query.limit(limit + 1)))
    more = len(facts) > limit
    facts = facts[:limit]
    return DrilldownPage(
        metric=metric, value=value, label=label, total=total,
        rows=describe(session, facts, scope),
        next_cursor=encode_cursor(facts[-1].created_at, facts[-1].conversation_id)
        if more and facts else None,
        meta=meta(filters, scope, pending))


# --- transcript -----------------------------------------------------------------------------


def transcript(session: Session, conversation_id: str, scope: Scope) -> Transcript:
    conversation = session.get(Conversation, conversation_id)
    tickets = list(session.scalars(select(Ticket).where(Ticket.conversation_id ==
                                                        conversation_id).order_by(Ticket.id)))
    if conversation is None or not _in_scope(tickets, scope):
        raise NotFound(f"conversation {conversation_id} does not exist",
                       field="conversation_id")
    messages = list(session.scalars(select(Message).where(
        Message.conversation_id == conversation_id).order_by(Message.id)))
    agent_ids = {m.sender_user_id for m in messages if m.sender_user_id is not None}
    names = dict(session.execute(select(User.id, User.display_name)
                                 .where(User.id.in_(agent_ids))).tuples().all()
                 ) if agent_ids else {}
    masked = not scope.pii

    def shown(text: str) -> str:
        return mask_text(text) if masked else text

    return Transcript(
        conversation_id=conversation.id, channel=conversation.channel,
        status=conversation.status, created_at=conversation.created_at,
        customer_name=mask_value(conversation.customer_name) if masked
        else conversation.customer_name,
        customer_email=mask_value(conversation.customer_email) if masked
        else conversation.customer_email,
        tickets=[TranscriptTicket(id=t.id, status=t.status, priority=t.priority,
                                  reason=t.reason, team_id=t.team_id,
                                  assignee_id=t.assignee_id, created_at=t.created_at,
                                  first_response_at=t.first_response_at,
                                  solved_at=t.solved_at) for t in tickets],
        messages=[TranscriptMessage(
            id=m.id, sender_type=m.sender_type,
            sender_name=_sender_name(m, names),
            text=shown(m.body) if m.sender_type in (SenderType.CUSTOMER, SenderType.AGENT)
            else m.body,
            kind=_meta_text(m, "kind") or _meta_text(m, "decision"),
            intent=_meta_text(m, "intent"), reason=_meta_text(m, "reason"),
            created_at=m.created_at) for m in messages],
        masked=masked)


def _in_scope(tickets: list[Ticket], scope: Scope) -> bool:
    """Scoped readers see conversations of their teams and those no team has (yet)."""
    if scope.team_ids is None:
        return True
    latest = tickets[-1] if tickets else None
    return latest is None or latest.team_id is None or latest.team_id in scope.team_ids


def _meta_text(message: Message, key: str) -> str | None:
    value = (message.meta or {}).get(key)
    return str(value) if value is not None else None


def _sender_name(message: Message, names: dict[int, str]) -> str | None:
    if message.sender_type == SenderType.AGENT:
        return names.get(message.sender_user_id or 0) or _meta_text(message, "agent_name")
    return {SenderType.BOT: "Bot", SenderType.SYSTEM: "System",
            SenderType.CUSTOMER: "Customer"}.get(SenderType(message.sender_type))
