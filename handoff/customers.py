"""The customer behind a ticket: the contact details they leave and their other tickets."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation
from conversations.service import AGENTS_TOPIC
from core.auth.service import Principal
from core.errors import ValidationFailed
from core.realtime import publish_after_commit
from handoff import history
from handoff.lookup import open_ticket_for
from handoff.models import Ticket
from handoff.schemas import PreviousConversation
from handoff.visibility import visible_to


def set_contact(session: Session, conversation: Conversation, *, email: str,
                name: str | None) -> Conversation:
    """The customer leaves an e-mail address for a follow-up."""
    email = email.strip()
    if "@" not in email or len(email) > 320 or " " in email:
        raise ValidationFailed("email must be an e-mail address", field="email")
    conversation.customer_email = email
    if name and name.strip():
        conversation.customer_name = name.strip()[:120]
    ticket = open_ticket_for(session, conversation.id)
    if ticket is not None:
        history.record(session, ticket, None, "contact", after={"customer_email": email})
        publish_after_commit(session, AGENTS_TOPIC, {"type": "ticket.updated",
                                                    "ticket_id": ticket.id})
    return conversation


def previous_conversations(session: Session, ticket: Ticket, viewer: Principal,
                           limit: int = 20) -> list[PreviousConversation]:
    """The same customer's other tickets (by e-mail or verified id), newest first."""
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    same_customer = []
    if conversation.customer_email:
        same_customer.append(func.lower(Conversation.customer_email)
                             == conversation.customer_email.lower())
    if conversation.customer_external_id and conversation.identity_verified:
        same_customer.append((Conversation.customer_external_id
                              == conversation.customer_external_id)
                             & Conversation.identity_verified.is_(True))
    if not same_customer:
        return []
    rows = session.execute(
        select(Ticket, Conversation.channel)
        .join(Conversation, Conversation.id == Ticket.conversation_id)
        .where(or_(*same_customer), Ticket.id != ticket.id, visible_to(session, viewer))
        .order_by(Ticket.created_at.desc()).limit(limit)).tuples()
    return [PreviousConversation(conversation_id=t.conversation_id, ticket_id=t.id,
                                 subject=t.subject, status=t.status, channel=channel,
                                 created_at=t.created_at)
            for t, channel in rows]
