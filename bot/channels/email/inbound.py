"""Customer e-mail in: one service function for the webhook and the IMAP poller.

A message is matched to its ticket by the ids it answers (In-Reply-To, then References,
newest first) against every e-mail in or out; failing that by a "[#123]" tag in the
subject, but only when it comes from that ticket's customer (anybody can type a tag).
Otherwise it opens a new e-mail conversation and ticket. The same Message-ID twice yields
the same ticket and stores nothing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.channels.email.parsing import ParsedEmail, clean_subject, parse_email, ticket_reference
from conversations import service as conversations
from conversations.models import Conversation
from core.database import session_scope
from core.errors import ValidationFailed
from core.settings import get_settings
from handoff import intake, lifecycle
from handoff.models import EmailMessage as EmailRecord
from handoff.models import Ticket

INBOUND = "inbound"
_SHORTENED = "\n\n[Shortened: the e-mail was {length} characters long.]"


@dataclass(frozen=True)
class Received:
    ticket: Ticket
    duplicate: bool


def receive(session: Session, raw: bytes) -> Ticket:
    """Store a raw customer e-mail on its ticket (a new one if it answers none)."""
    return receive_email(session, raw).ticket


def receive_email(session: Session, raw: bytes) -> Received:
    parsed = parse_email(raw)
    known = _known_ticket(session, parsed.message_id)
    if known is not None:
        return Received(known, duplicate=True)
    _refuse_own_mail(parsed)
    return Received(_store(session, parsed), duplicate=False)


def receive_in_own_transaction(raw: bytes) -> Received:
    """`receive_email` as a unit of work of its own (webhook, IMAP poller).

    The same message arriving twice at once (webhook and poller) collides on the unique
    Message-ID; the loser's transaction rolls back whole and, run again, finds the winner's.
    """
    try:
        with session_scope() as session:
            return receive_email(session, raw)
    except IntegrityError:
        with session_scope() as session:
            return receive_email(session, raw)


def _known_ticket(session: Session, message_id: str) -> Ticket | None:
    ticket_id = session.scalar(select(EmailRecord.ticket_id)
                               .where(EmailRecord.message_id == message_id))
    return session.get(Ticket, ticket_id) if ticket_id is not None else None


def _refuse_own_mail(parsed: ParsedEmail) -> None:
    # Our own outgoing mail in the polled mailbox, or a loop through an auto-forwarder.
    settings = get_settings()
    ours = {parseaddr(address)[1].lower() for address in (settings.mail_from,
                                                          settings.support_address) if address}
    if parsed.sender_email in ours:
        raise ValidationFailed("the message comes from the support address itself",
                               field="from")


def _store(session: Session, parsed: ParsedEmail) -> Ticket:
    text = _fitted(parsed.body)
    subject = clean_subject(parsed.subject)[:200]
    threaded = _threaded_ticket(session, parsed)
    if threaded is not None:
        conversation = conversations.get_conversation(session, threaded.conversation_id)
        message, _ = conversations.add_customer_message(session, conversation, text, None)
        # Wakes the conversation's ticket (following merges, reopening a recently solved
        # one, restarting its SLA); a closed one is final, so the mail starts a new case.
        ticket = (lifecycle.customer_wrote(session, conversation)
                  or intake.open_email_ticket(session, conversation, subject))
    else:
        conversation, _token = conversations.start_conversation(
            session, channel="email", customer_name=parsed.sender_name,
            customer_email=parsed.sender_email)
        message, _ = conversations.add_customer_message(session, conversation, text, None)
        ticket = intake.open_email_ticket(session, conversation, subject)
    session.add(EmailRecord(
        message_id=parsed.message_id, ticket_id=ticket.id, direction=INBOUND,
        in_reply_to=parsed.in_reply_to, subject=parsed.subject[:300],
        sender=parsed.sender_email[:320], chat_message_id=message.id))
    session.flush()
    return ticket


def _fitted(body: str) -> str:
    """The body within the transcript's message limit (the quoted thread is already gone)."""
    limit = get_settings().max_message_chars
    if len(body) <= limit:
        return body
    marker = _SHORTENED.format(length=len(body))
    return body[:limit - len(marker)].rstrip() + marker


def _threaded_ticket(session: Session, parsed: ParsedEmail) -> Ticket | None:
    """The ticket this message answers, if any (it may since have been closed or merged)."""
    return _ticket_by_headers(session, parsed) or _ticket_by_subject(session, parsed)


def _ticket_by_headers(session: Session, parsed: ParsedEmail) -> Ticket | None:
    candidates = list(dict.fromkeys(
        [*([parsed.in_reply_to] if parsed.in_reply_to else []), *reversed(parsed.references)]))
    if not candidates:
        return None
    found = dict(session.execute(
        select(EmailRecord.message_id, EmailRecord.ticket_id)
        .where(EmailRecord.message_id.in_(candidates))).tuples().all())
    for candidate in candidates:
        if candidate in found:
            return session.get(Ticket, found[candidate])
    return None


def _ticket_by_subject(session: Session, parsed: ParsedEmail) -> Ticket | None:
    ticket_id = ticket_reference(parsed.subject)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        return None
    conversation = session.get(Conversation, ticket.conversation_id)
    owner = (conversation.customer_email or "").lower() if conversation else ""
    return ticket if owner and owner == parsed.sender_email else None
