"""The agent queue. Claiming is a single conditional UPDATE, so of two agents racing for
the same ticket exactly one wins and the other gets a Conflict (409)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, or_, select, true, update
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, ConversationStatus, Message, SenderType
from core import audit
from core.auth.models import User
from core.auth.permissions import Permission
from core.auth.roles import role_permissions
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.events import emit
from core.realtime import publish_after_commit
from handoff.models import HandoffReason, Priority, Team, TeamMember, Ticket, TicketStatus

QUEUE_TOPIC = conversations.AGENTS_TOPIC

# How urgent each hand-off reason is when it lands in the queue.
REASON_PRIORITY: dict[str, Priority] = {
    HandoffReason.BOT_UNAVAILABLE: Priority.HIGH,
    HandoffReason.REPEATED_FALLBACK: Priority.HIGH,
    HandoffReason.CUSTOMER_REQUEST: Priority.NORMAL,
    HandoffReason.LOW_NLU_CONFIDENCE: Priority.NORMAL,
    HandoffReason.LOW_KB_SCORE: Priority.NORMAL,
    HandoffReason.AGENT_OPENED: Priority.NORMAL,
    HandoffReason.FRUSTRATION: Priority.HIGH,
    HandoffReason.LANGUAGE: Priority.NORMAL,
    HandoffReason.INTENT_OVERRIDE: Priority.HIGH,
    HandoffReason.VERIFICATION_FAILED: Priority.NORMAL,
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
    emit(session, "ticket.created", ticket_to_dict(ticket))
    return ticket


def list_queue(session: Session, *, status: str | None = None,
               assignee_id: int | None = None, viewer: Principal | None = None) -> list[Ticket]:
    """The queue; with `viewer`, only the tickets that person may see (see `visible_to`)."""
    query = select(Ticket)
    if viewer is not None:
        query = query.where(visible_to(session, viewer))
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


# Team scoping. A ticket is visible to a caller when any of these holds:
#   - the caller has tickets.all_teams (administrators);
#   - the ticket has no team yet (fresh hand-offs are everyone's until routed);
#   - the ticket's team is one of the caller's teams (read from team_members per request);
#   - the caller is the ticket's assignee.
# An invisible ticket answers 404, as if it did not exist, so ids cannot be probed.


def team_ids_of(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def visible_to(session: Session, viewer: Principal) -> ColumnElement[bool]:
    if viewer.can(Permission.TICKETS_ALL_TEAMS):
        return true()
    return or_(Ticket.team_id.is_(None),
               Ticket.team_id.in_(team_ids_of(session, viewer.user_id)),
               Ticket.assignee_id == viewer.user_id)


def can_see(session: Session, ticket: Ticket, viewer: Principal) -> bool:
    return (viewer.can(Permission.TICKETS_ALL_TEAMS) or ticket.team_id is None
            or ticket.assignee_id == viewer.user_id
            or ticket.team_id in team_ids_of(session, viewer.user_id))


def get_visible_ticket(session: Session, ticket_id: int, viewer: Principal) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if not can_see(session, ticket, viewer):
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    return ticket


def can_see_conversation(session: Session, conversation_id: str, viewer: Principal) -> bool:
    """For live events: a conversation follows its latest ticket; without one it is open to all."""
    ticket = session.scalar(select(Ticket).where(Ticket.conversation_id == conversation_id)
                            .order_by(Ticket.id.desc()).limit(1))
    return ticket is None or can_see(session, ticket, viewer)


def claim(session: Session, ticket_id: int, agent: Principal) -> Ticket:
    get_visible_ticket(session, ticket_id, agent)
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
    ticket = get_visible_ticket(session, ticket_id, agent)
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
    ticket = get_visible_ticket(session, ticket_id, agent)
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
    emit(session, "ticket.solved", ticket_to_dict(ticket))
    return ticket


def assign(session: Session, ticket_id: int, actor: Principal, *, assignee_id: int | None,
           team_id: int | None, client_address: str | None = None) -> Ticket:
    """Reassign a ticket to a person and/or a team (tickets.assign). Audited with before/after.

    Without tickets.all_teams the actor can only move tickets into their own teams, and the
    new assignee must be able to reply to tickets.
    """
    ticket = get_visible_ticket(session, ticket_id, actor)
    if ticket.status == TicketStatus.RESOLVED:
        raise Conflict(f"ticket {ticket_id} is resolved", status=ticket.status)
    if team_id is not None:
        if session.get(Team, team_id) is None:
            raise ValidationFailed(f"team {team_id} does not exist", field="team_id")
        if (not actor.can(Permission.TICKETS_ALL_TEAMS)
                and team_id not in team_ids_of(session, actor.user_id)):
            raise PermissionDenied("you can only move tickets into your own teams",
                                   field="team_id")
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if (assignee is None or not assignee.is_active
                or Permission.TICKETS_REPLY not in role_permissions(session, assignee.role)):
            raise ValidationFailed("the assignee must be an active user who can reply to "
                                   "tickets", field="assignee_id")
    before = {"assignee_id": ticket.assignee_id, "team_id": ticket.team_id,
              "status": ticket.status}
    ticket.team_id = team_id
    ticket.assignee_id = assignee_id
    if assignee_id is None:
        ticket.status = TicketStatus.QUEUED
    else:
        ticket.status = TicketStatus.ASSIGNED
        ticket.claimed_at = ticket.claimed_at or utcnow()
    audit.record(session, actor=actor.user_id, action="ticket.reassigned",
                 target=f"ticket:{ticket.id}", client_address=client_address, before=before,
                 after={"assignee_id": assignee_id, "team_id": team_id,
                        "status": ticket.status})
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
        "team_id": ticket.team_id,
        "created_at": ticket.created_at.isoformat(),
        "claimed_at": ticket.claimed_at.isoformat() if ticket.claimed_at else None,
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
    }
