"""New tickets: a bot hand-off, an e-mail to the support mailbox, an agent opening one
for a customer. Each is routed (team, priority) and, for chats, given to an agent who has
room or answered with where the customer stands."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, ConversationStatus, Message, SenderType
from core import i18n
from core.auth.service import Principal
from core.database import utcnow
from core.errors import ValidationFailed
from core.events import emit
from handoff import business_hours, history, routing, sla
from handoff.fields import check_priority, check_team, normalise_tags
from handoff.lifecycle import reply
from handoff.lookup import open_ticket_for
from handoff.models import Priority, Team, Ticket, TicketStatus
from handoff.queue import team_calendar
from handoff.schemas import TicketOut
from nlu.handoff_policy import Reason

REASON_PRIORITY: dict[str, Priority] = {
    Reason.BOT_UNAVAILABLE: Priority.HIGH,
    Reason.BOT_BUSY: Priority.HIGH,
    Reason.BOT_QUEUE_FULL: Priority.HIGH,
    Reason.REPEATED_FALLBACK: Priority.HIGH,
    Reason.CUSTOMER_REQUEST: Priority.NORMAL,
    Reason.LOW_NLU_CONFIDENCE: Priority.NORMAL,
    Reason.LOW_KB_SCORE: Priority.NORMAL,
    Reason.AGENT_OPENED: Priority.NORMAL,
    Reason.FRUSTRATION: Priority.HIGH,
    Reason.LANGUAGE: Priority.NORMAL,
    Reason.INTENT_OVERRIDE: Priority.HIGH,
    Reason.VERIFICATION_FAILED: Priority.NORMAL,
    Reason.EMAIL: Priority.NORMAL,
}



@dataclass(frozen=True)
class HandoffSignal:
    reason: str
    intent: str | None = None
    confidence: float | None = None
    category: str | None = None


# --- creating tickets ----------------------------------------------------------------


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
    ticket = _create(session, conversation, signal, subject=latest_customer_text or
                     "Conversation")
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    _route_to_people(session, conversation, ticket)
    return ticket


def open_email_ticket(session: Session, conversation: Conversation, subject: str) -> Ticket:
    """A customer wrote to the support mailbox: a ticket answered by e-mail."""
    ticket = _create(session, conversation, HandoffSignal(reason=Reason.EMAIL),
                     subject=subject or "(no subject)", reply_by_email=True)
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    routing.auto_assign(session, ticket)
    return ticket


def open_ticket_by_agent(session: Session, agent: Principal, *, customer_email: str,
                         customer_name: str | None, subject: str, text: str,
                         priority: str = Priority.NORMAL, team_id: int | None = None,
                         category: str | None = None, tags: list[str] | None = None) -> Ticket:
    """An agent opens a ticket for a customer (after a phone call, say); their first message
    goes to the customer by e-mail and the ticket is theirs."""
    email = customer_email.strip()
    if "@" not in email or len(email) > 320:
        raise ValidationFailed("customer_email must be an e-mail address", field="customer_email")
    subject = subject.strip()
    if not subject:
        raise ValidationFailed("subject must not be empty", field="subject")
    check_priority(priority)
    if team_id is not None:
        check_team(session, team_id)
    body = conversations.validate_text(text)
    conversation, _token = conversations.start_conversation(
        session, channel="email", customer_name=customer_name, customer_email=email)
    ticket = _create(session, conversation,
                     HandoffSignal(reason=Reason.AGENT_OPENED, category=category),
                     subject=subject, reply_by_email=True, actor_id=agent.user_id,
                     priority=priority, team_id=team_id)
    ticket.tags = normalise_tags(tags or [])
    conversations.set_status(session, conversation, ConversationStatus.HUMAN)
    routing.assign_to(session, ticket, agent.user_id, actor_id=agent.user_id,
                      note="opened by agent")
    session.flush()
    reply(session, ticket.id, agent, body)
    return ticket


def _create(session: Session, conversation: Conversation, signal: HandoffSignal, *,
            subject: str, reply_by_email: bool = False, actor_id: int | None = None,
            priority: str | None = None, team_id: int | None = None) -> Ticket:
    now = utcnow()
    route = routing.route_for(session, intent=signal.intent, category=signal.category,
                              reason=signal.reason)
    ticket = Ticket(
        conversation_id=conversation.id,
        status=TicketStatus.NEW,
        priority=priority or route.priority or REASON_PRIORITY.get(signal.reason,
                                                                   Priority.NORMAL),
        reason=signal.reason,
        detected_intent=signal.intent,
        intent_confidence=signal.confidence,
        category=signal.category,
        tags=[],
        subject=subject[:200],
        team_id=team_id if team_id is not None else route.team_id,
        reply_by_email=reply_by_email,
        created_at=now,
        updated_at=now,
        last_customer_message_at=now if actor_id is None else None,
    )
    session.add(ticket)
    session.flush()
    history.record(session, ticket, actor_id, "created", after={
        "status": ticket.status, "priority": ticket.priority, "team_id": ticket.team_id,
        "reason": ticket.reason})
    sla.on_ticket_created(session, ticket, now)
    routing.announce_queue_change(session, ticket.id, ticket.team_id)
    emit(session, "ticket.created", TicketOut.of(ticket).model_dump())
    return ticket


def _route_to_people(session: Session, conversation: Conversation, ticket: Ticket) -> None:
    """Give the chat to an agent when the team is open and someone has room; otherwise tell
    the customer where they stand: waiting in the queue, or a reply by e-mail later
    (outside business hours, or nobody online)."""
    now = utcnow()
    team = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    calendar = team_calendar(session, team)
    open_now = business_hours.is_open(calendar, now)
    if open_now and routing.auto_assign(session, ticket):
        return
    if open_now and routing.online_agent_ids(session, ticket.team_id):
        conversations.add_message(session, conversation, sender_type=SenderType.SYSTEM,
                                  body=i18n.text("handoff.waiting", conversation.locale),
                                  meta={"kind": "queued", "ticket_id": ticket.id})
        return
    ticket.reply_by_email = True
    when = None if open_now else business_hours.next_open(calendar, now)
    locale = conversation.locale
    text = i18n.text("handoff.away", locale, ticket=ticket.id, when=i18n.text(
        "handoff.away_when", locale, when=f"{when:%a %d %b %H:%M}") if when else "")
    if not conversation.customer_email:
        text += i18n.text("handoff.ask_email", locale)
    conversations.add_message(
        session, conversation, sender_type=SenderType.SYSTEM, body=text,
        meta={"kind": "away", "ticket_id": ticket.id,
              "next_open_at": when.isoformat() if when else None,
              "email_known": bool(conversation.customer_email)})
