"""E-mail background work: sending (retried with backoff) and polling the IMAP mailbox.

`on_domain_event` is the core.events listener (wired in app/worker.py). It runs inside the
transaction that changed the ticket: it records the outgoing e-mail there and sends it
only after commit, so a rolled-back reply is never mailed. The reply itself is already in
the transcript; an SMTP outage only delays the e-mail.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from sqlalchemy.orm import Session

from bot.channels.email import imap, inbound, outbound
from conversations.models import Conversation, Message
from core import mail as smtp
from core.database import session_scope
from core.tasks import enqueue_after_commit
from handoff.models import HandoffReason, Ticket

log = logging.getLogger(__name__)

# Events whose message (payload "message_id") goes to the customer by e-mail.
_MAILED_MESSAGE_EVENTS = frozenset({"ticket.replied", "ticket.csat_requested"})


def on_domain_event(session: Session, event: str, payload: dict[str, Any]) -> None:
    if event in _MAILED_MESSAGE_EVENTS:
        _mail_message(session, payload)
    elif event == "ticket.created":
        _acknowledge_if_emailed(session, payload)


def _mail_message(session: Session, payload: dict[str, Any]) -> None:
    ticket = session.get(Ticket, payload["ticket_id"])
    message = session.get(Message, payload["message_id"])
    if ticket is None or message is None or not ticket.reply_by_email:
        return
    record = outbound.queue_message(session, ticket, message)
    if record is not None:
        enqueue_after_commit(session, send_email, record.id)


def _acknowledge_if_emailed(session: Session, payload: dict[str, Any]) -> None:
    ticket = session.get(Ticket, payload["id"])
    # An agent who opens a ticket writes to the customer themselves.
    if ticket is None or ticket.reason == HandoffReason.AGENT_OPENED:
        return
    conversation = session.get(Conversation, ticket.conversation_id)
    if conversation is None or not conversation.customer_email:
        return
    if conversation.channel == "email" or ticket.reply_by_email:
        # After commit: the inbound e-mail this answers is recorded by then, so the
        # acknowledgement threads onto it.
        enqueue_after_commit(session, acknowledge_ticket, ticket.id)


@shared_task(name="email.acknowledge_ticket", soft_time_limit=60, time_limit=90,
             max_retries=0, ignore_result=True)
def acknowledge_ticket(ticket_id: int) -> None:
    with session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            return
        record = outbound.acknowledge(session, ticket)
        if record is not None:
            enqueue_after_commit(session, send_email, record.id)


@shared_task(bind=True, name="email.send", soft_time_limit=90, time_limit=120,
             max_retries=20, ignore_result=True)
def send_email(self: Task, record_id: int) -> None:
    # No transaction is held during the SMTP conversation (slow relays, SQLite's lock).
    with session_scope() as session:
        mime = outbound.compose(session, record_id)
    if mime is None:
        return
    try:
        smtp.deliver(mime)
    except Exception as exc:
        if smtp.is_permanent(exc):
            log.error("e-mail %s refused by the relay, not retried: %s", mime["Message-ID"], exc)
            return
        delay = smtp.retry_delay(self.request.retries)
        log.warning("e-mail %s not sent (%s); retry in %s s", mime["Message-ID"], exc, delay)
        raise self.retry(countdown=delay, exc=exc) from exc


@shared_task(name="email.poll_mailbox", soft_time_limit=300, time_limit=360,
             max_retries=0, ignore_result=True)
def poll_mailbox() -> None:
    """Beat task: fetch new mail from the IMAP mailbox (does nothing while unconfigured)."""
    result = imap.poll_mailbox(inbound.receive_in_own_transaction)
    if result is not None and (result.stored or result.rejected or result.failed):
        log.info("mailbox poll: %s stored, %s rejected, %s failed",
                 result.stored, result.rejected, result.failed)
