"""Mail out: agent replies, the acknowledgement of a new e-mail ticket, the CSAT link.

Every outgoing e-mail is the copy of one transcript message. `queue_message` records it
(email_messages, direction outbound) in the transaction that wrote the message, with its
Message-ID fixed there, so a retried send carries the same id and the customer's reply
threads onto the ticket whichever attempt got through. The SMTP conversation itself runs
in a Celery task after commit (bot.channels.email.tasks), never inside a transaction.

Each row also records its delivery, so an e-mail goes out once however many tasks try:
an attempt first `claim`s the row (one conditional UPDATE: unsent, not refused, and nobody
else's lease running), then talks to the relay, then marks it `sent` / `failed`, or
`release`s it for a retry. A worker killed mid-send leaves its claim to expire; the resend
sweep (`due_for_resend`) picks up such rows, and rows whose send task never ran at all.
One window is left, as with any SMTP client: killed after the relay accepted the e-mail
but before marking it sent, the e-mail goes out again (with the same Message-ID).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any, cast

from sqlalchemy import CursorResult, Update, or_, select, update
from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, Message, SenderType
from core.auth.models import User
from core.database import utcnow
from core.settings import get_settings
from handoff import csat
from handoff.models import EmailMessage as EmailRecord
from handoff.models import Ticket

log = logging.getLogger(__name__)

OUTBOUND = "outbound"
ACKNOWLEDGEMENT_KIND = "email_acknowledgement"
MAX_REFERENCES = 20  # enough to thread; long chains bloat the header
# Attempts before a temporarily refused e-mail is given up (the backoff spans ~14 h).
MAX_ATTEMPTS = 21
SWEEP_BATCH = 500


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


@dataclass(frozen=True)
class Claim:
    at: datetime  # the lease's start, also what identifies this attempt's hold
    attempt: int  # 1 for the first attempt


def claim(session: Session, record_id: int, now: datetime | None = None) -> Claim | None:
    """Take the e-mail for one attempt, or None: already sent, refused, or held by another
    attempt whose lease is running. Of two attempts at the same moment exactly one wins."""
    now = now or utcnow()
    lease = timedelta(seconds=get_settings().email_send_lease_seconds)
    taken = _update(session, update(EmailRecord).where(
        EmailRecord.id == record_id, EmailRecord.direction == OUTBOUND,
        EmailRecord.sent_at.is_(None), EmailRecord.failed_at.is_(None),
        or_(EmailRecord.claimed_at.is_(None), EmailRecord.claimed_at < now - lease),
    ).values(claimed_at=now, attempts=EmailRecord.attempts + 1))
    if not taken:
        return None
    attempt = session.scalar(select(EmailRecord.attempts).where(EmailRecord.id == record_id))
    return Claim(now, int(attempt or 1))


def mark_sent(session: Session, record_id: int, now: datetime | None = None) -> None:
    _update(session, update(EmailRecord).where(EmailRecord.id == record_id).values(
        sent_at=now or utcnow(), claimed_at=None, next_attempt_at=None, last_error=None))


def mark_failed(session: Session, record_id: int, error: str,
                now: datetime | None = None) -> None:
    """Never to be sent: the relay refused it for good, or there is nothing left to send."""
    _update(session, update(EmailRecord).where(EmailRecord.id == record_id).values(
        failed_at=now or utcnow(), claimed_at=None, next_attempt_at=None,
        last_error=error[:500]))


def release(session: Session, record_id: int, held: Claim, retry_at: datetime,
            error: str) -> None:
    """Give the e-mail back after a temporary refusal; the retry is due at `retry_at`.
    Only this attempt's hold is released (another may have taken over an expired lease)."""
    _update(session, update(EmailRecord).where(
        EmailRecord.id == record_id, EmailRecord.claimed_at == held.at,
    ).values(claimed_at=None, next_attempt_at=retry_at, last_error=error[:500]))


def due_for_resend(session: Session, now: datetime | None = None) -> list[int]:
    """Unsent e-mails no attempt is looking after: never claimed a while after they were
    queued (the task was lost before it ran), claimed by an attempt whose lease ran out (its
    worker died), or released for a retry that is overdue (the retry was lost)."""
    now = now or utcnow()
    settings = get_settings()
    grace = timedelta(seconds=settings.email_resend_after_seconds)
    lease = timedelta(seconds=settings.email_send_lease_seconds)
    return list(session.scalars(select(EmailRecord.id).where(
        EmailRecord.direction == OUTBOUND,
        EmailRecord.sent_at.is_(None), EmailRecord.failed_at.is_(None),
        EmailRecord.created_at < now - grace,
        EmailRecord.created_at > now - timedelta(hours=settings.email_resend_within_hours),
        or_(EmailRecord.claimed_at.is_(None), EmailRecord.claimed_at < now - lease),
        or_(EmailRecord.next_attempt_at.is_(None), EmailRecord.next_attempt_at < now - grace),
    ).order_by(EmailRecord.id).limit(SWEEP_BATCH)))


def _update(session: Session, statement: Update) -> bool:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return bool(cast(CursorResult[Any], result).rowcount)
