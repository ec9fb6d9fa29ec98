"""Mail out: agent replies, the acknowledgement of a new e-mail ticket, the CSAT link.

Every outgoing e-mail is the copy of one transcript message. `queue_message` records it
(email_messages, direction outbound) in the transaction that wrote the message, with its
Message-ID fixed there, so a retried send carries the same id and the customer's reply
threads onto the ticket whichever attempt got through. The SMTP conversation itself runs
in a Celery task after commit (bot.channels.email.tasks), never inside a transaction.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage as MimeMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, Message, SenderType
from core.auth.models import User
from core.settings import get_settings
from handoff import csat
from handoff.models import EmailMessage as EmailRecord
from handoff.models import Ticket

log = logging.getLogger(__name__)

OUTBOUND = "outbound"
ACKNOWLEDGEMENT_KIND = "email_acknowledgement"
MAX_REFERENCES = 20  # enough to thread; long chains bloat the header


def mail_domain() -> str:
    address = parseaddr(get_settings().mail_from)[1]
    return address.rpartition("@")[2] or "tandem.localhost"


def subject_for(ticket: Ticket, *, answering: bool) -> str:
    """The ticket tag lets a reply without threading headers still find its ticket."""
    return f"{'Re: ' if answering else ''}[#{ticket.id}] {ticket.subject}"


def queue_message(session: Session, ticket: Ticket, message: Message) -> EmailRecord | None:
    """Record `message` as an e-mail to the ticket's customer; None without an address.

    Idempotent per message: queuing it again returns the record made the first time.
    """
    conversation = session.get(Conversation, ticket.conversation_id)
    if conversation is None or not conversation.customer_email:
        return None
    existing = session.scalar(select(EmailRecord).where(
        EmailRecord.chat_message_id == message.id, EmailRecord.direction == OUTBOUND))
    if existing is not None:
        return existing
    latest = session.scalar(select(EmailRecord.message_id)
                            .where(EmailRecord.ticket_id == ticket.id)
                            .order_by(EmailRecord.id.desc()).limit(1))
    record = EmailRecord(
        message_id=make_msgid(domain=mail_domain()),
        ticket_id=ticket.id, direction=OUTBOUND, in_reply_to=latest,
        subject=subject_for(ticket, answering=latest is not None)[:300],
        sender=parseaddr(get_settings().mail_from)[1][:320], chat_message_id=message.id)
    session.add(record)
    session.flush()
    return record


def acknowledge(session: Session, ticket: Ticket) -> EmailRecord | None:
    """Tell the customer their e-mail became a ticket (in the transcript, then by mail).

    Once per ticket: a second call finds the first acknowledgement and queues nothing new.
    """
    conversation = conversations.get_conversation(session, ticket.conversation_id)
    if not conversation.customer_email:
        return None
    for message in conversations.transcript(session, conversation.id):
        if (message.meta.get("kind") == ACKNOWLEDGEMENT_KIND
                and message.meta.get("ticket_id") == ticket.id):
            return queue_message(session, ticket, message)
    text = (f"Thank you for contacting us. Your request is ticket #{ticket.id}; we will "
            f"reply by e-mail to {conversation.customer_email} as soon as we can.")
    message = conversations.add_message(
        session, conversation, sender_type=SenderType.SYSTEM, body=text,
        meta={"kind": ACKNOWLEDGEMENT_KIND, "ticket_id": ticket.id})
    return queue_message(session, ticket, message)


def compose(session: Session, record_id: int) -> MimeMessage | None:
    """The e-mail for a queued record; None if it or its message no longer exists."""
    record = session.get(EmailRecord, record_id)
    if record is None or record.direction != OUTBOUND or record.chat_message_id is None:
        return None
    message = session.get(Message, record.chat_message_id)
    ticket = session.get(Ticket, record.ticket_id)
    conversation = session.get(Conversation, ticket.conversation_id) if ticket else None
    if message is None or ticket is None or conversation is None:
        return None
    if not conversation.customer_email:
        return None
    settings = get_settings()
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = formataddr((conversation.customer_name or "", conversation.customer_email))
    if settings.support_address:
        mime["Reply-To"] = settings.support_address
    mime["Subject"] = record.subject
    mime["Message-ID"] = record.message_id
    mime["Date"] = formatdate(record.created_at.timestamp(), usegmt=True)
    references = _earlier_ids(session, record)
    if record.in_reply_to:
        mime["In-Reply-To"] = record.in_reply_to
    if references:
        mime["References"] = " ".join(references)
    mime["X-Tandem-Ticket"] = str(ticket.id)
    if message.sender_type == SenderType.SYSTEM:
        # RFC 3834: automatic mail; well-behaved auto-responders do not answer it.
        mime["Auto-Submitted"] = "auto-replied"
    mime.set_content(_body(session, ticket, message))
    return mime


def _earlier_ids(session: Session, record: EmailRecord) -> list[str]:
    ids = list(session.scalars(
        select(EmailRecord.message_id)
        .where(EmailRecord.ticket_id == record.ticket_id, EmailRecord.id < record.id)
        .order_by(EmailRecord.id.desc()).limit(MAX_REFERENCES)))
    ids.reverse()
    if record.in_reply_to and record.in_reply_to not in ids:
        ids.append(record.in_reply_to)
    return ids


def _body(session: Session, ticket: Ticket, message: Message) -> str:
    parts = [message.body]
    if message.meta.get("kind") == csat.REQUEST_KIND:
        days = csat.LINK_VALIDITY.days
        parts.append(f"Rate us here: {csat.rating_link(ticket.id)}\n"
                     f"(The link works for {days} days.)")
    if message.sender_user_id is not None:
        agent = session.get(User, message.sender_user_id)
        if agent is not None:
            parts.append(f"{agent.display_name}")
    parts.append(f"-- \nTicket #{ticket.id}. Reply to this e-mail to add to it.")
    return "\n\n".join(parts) + "\n"
