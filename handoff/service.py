"""The agent queue. Claiming is a single conditional UPDATE, so of two agents racing for
the same ticket exactly one wins and the other gets a Conflict (409)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, ConversationStatus, Message, SenderType
from core import audit
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, NotFound, PermissionDenied
from core.realtime import publish_after_commit
from handoff.models import HandoffReason, Priority, Ticket, TicketStatus

QUEUE_TOPIC = conversations.AGENTS_TOPIC

# How urgent each hand-off reason is when it lands in the queue.
REASON_PRIORITY: dict[str, Priority] = {
    HandoffReason.BOT_UNAVAILABLE: Priority.HIGH,
    HandoffReason.REPEATED_FALLBACK: Priority.HIGH,
    HandoffReason.CUSTOMER_REQUEST: Priority.NORMAL,
    HandoffReason.LOW_NLU_CONFIDENCE: Priority.NORMAL,
    HandoffReason.LOW_KB_SCORE: Priority.NORMAL,
    HandoffReason.AGENT_OPENED: Priority.NORMAL,
}


@dataclass(frozen=True)
class HandoffSignal:
    reason: str
    intent: str | None = None
    confidence: float | None = None


def open_ticket_for(session: Session, conversation_id: str) -> Ticket | None:
    return session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status != TicketStatus.RESOLVED)
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def hand_off(session: Session, conversation: Conversation, signal: HandoffSignal) -> Ticket:
    """Move the conversation to the human queue; idempotent while a ticket is open."""
    existing = open_ticket_for(session, conversation.id)
    if existing is not None:
        conversations.set_status(session, conversation, ConversationStatus.HUMAN)
        return existing
    # The message that made the bot give up says best what the customer needs.
    latest_customer_text = session.scalar(
        select(Message.body)
        .where(Message.conversation_id == conversation.id,
               Message.sender_type == SenderType.CUSTOMER)
        .order_by(Message.id.desc())
        .limit(1)
    )
    ticket = Ticket(
        conversation_id=conversation.id,
        status=TicketStatus.QUEUED,
        priority=REASON_PRIORITY.get(signal.reason, Priority.NORMAL),
        reason=signal.reason,
        detected_intent=signal.intent,
        intent_confidence=signal.confidence,
        subject=(latest_customer_text or "Conversation")[:200],
        created_at=utcnow(),
    )
    session.add(ticket)
    session.flush()
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    publish_after_commit(session, QUEUE_TOPIC, {"type": "queue.changed", "ticket_id": ticket.id})
    return ticket


def list_queue(session: Session, *, status: str | None = None,
               assignee_id: int | None = None) -> list[Ticket]:
    query = select(Ticket)
    if status:
        query = query.where(Ticket.status == status)
    else:
        query = query.where(Ticket.status != TicketStatus.RESOLVED)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    priority_rank = case(
        {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3},
        value=Ticket.priority,
    )
    return list(session.scalars(query.order_by(priority_rank, Ticket.created_at, Ticket.id)))


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    return ticket


def claim(session: Session, ticket_id: int, agent: Principal) -> Ticket:
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == TicketStatus.QUEUED)
        .values(status=TicketStatus.ASSIGNED, assignee_id=agent.user_id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        ticket = get_ticket(session, ticket_id)
        raise Conflict(f"ticket {ticket_id} is already {ticket.status}", status=ticket.status,
                       assignee_id=ticket.assignee_id)
    ticket = get_ticket(session, ticket_id)
    session.refresh(ticket)
    publish_after_commit(session, QUEUE_TOPIC, {"type": "queue.changed", "ticket_id": ticket_id})
    return ticket


def _require_handler(ticket: Ticket, agent: Principal) -> None:
    """Only the assignee replies or resolves, unless the caller may assign tickets."""
    if ticket.assignee_id != agent.user_id and not agent.can(Permission.TICKETS_ASSIGN):
        raise PermissionDenied(f"ticket {ticket.id} is not assigned to you; claim it first")


def reply(session: Session, ticket_id: int, agent: Principal, text: str) -> Message:
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED:
        raise Conflict(f"ticket {ticket_id} is resolved", status=ticket.status)
    _require_handler(ticket, agent)
    body = conversations.validate_text(text)
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    message = conversations.add_message(
        session, conversation, sender_type=SenderType.AGENT, body=body,
        sender_user_id=agent.user_id, meta={"agent_name": agent.display_name},
    )
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
    return message


def resolve(session: Session, ticket_id: int, agent: Principal) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED:
        raise Conflict(f"ticket {ticket_id} is already resolved", status=ticket.status)
    _require_handler(ticket, agent)
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = utcnow()
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    conversations.set_status(session, conversation, ConversationStatus.RESOLVED)
    if ticket.assignee_id != agent.user_id:
        audit.record(session, actor=agent.user_id, action="ticket.resolved_for_other",
                     target=f"ticket:{ticket.id}", before={"assignee_id": ticket.assignee_id})
    publish_after_commit(session, QUEUE_TOPIC, {"type": "queue.changed", "ticket_id": ticket_id})
    return ticket


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "reason": ticket.reason,
        "detected_intent": ticket.detected_intent,
        "intent_confidence": ticket.intent_confidence,
        "subject": ticket.subject,
        "assignee_id": ticket.assignee_id,
        "created_at": ticket.created_at.isoformat(),
        "claimed_at": ticket.claimed_at.isoformat() if ticket.claimed_at else None,
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
    }
