"""E-mail background work: sending (retried with backoff; one attempt at a time per e-mail
however many tasks try, see bot.channels.email.outbound), the resend sweep, and polling
the IMAP mailbox.

`on_domain_event` is the core.events listener (wired in app/worker.py). It runs inside the
transaction that changed the ticket: it records the outgoing e-mail there and sends it
only after commit, so a rolled-back reply is never mailed. The reply itself is already in
the transcript; an SMTP outage only delays the e-mail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.channels.email import imap, inbound, outbound
from conversations.models import Conversation, Message
from core import mail as smtp
from core.database import session_scope, utcnow
from core.tasks import enqueue_after_commit
from handoff.models import Ticket
from nlu.handoff_policy import Reason

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
    if ticket is None or ticket.reason == Reason.AGENT_OPENED:
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
             max_retries=outbound.MAX_ATTEMPTS, ignore_result=True)
def send_email(self: Task, record_id: int) -> None:
    """One attempt at one e-mail. A duplicate of this task (a redelivery, the resend sweep,
    a retry racing the sweep) finds the e-mail sent or held by another attempt and stops."""
    with session_scope() as session:
        held = outbound.claim(session, record_id)
        if held is None:
            return
        if held.attempt > outbound.MAX_ATTEMPTS:
            outbound.mark_failed(session, record_id, f"gave up after {held.attempt - 1} attempts")
            return
        mime = outbound.compose(session, record_id)
        if mime is None:
            outbound.mark_failed(session, record_id, "nothing to send: message or address gone")
            return
    # No transaction is held during the SMTP conversation (slow relays, SQLite's lock).
    try:
        smtp.deliver(mime)
    except Exception as exc:
        if smtp.is_permanent(exc):
            log.error("e-mail %s refused by the relay, not retried: %s", mime["Message-ID"], exc)
            _record(outbound.mark_failed, record_id, str(exc))
            return
        if held.attempt >= outbound.MAX_ATTEMPTS:
            log.error("e-mail %s not sent after %s attempts, given up: %s",
                      mime["Message-ID"], held.attempt, exc)
            _record(outbound.mark_failed, record_id, f"gave up: {exc}")
            return
        delay = smtp.retry_delay(held.attempt - 1)
        log.warning("e-mail %s not sent (%s); retry in %s s", mime["Message-ID"], exc, delay)
        _record(outbound.release, record_id, held, utcnow() + timedelta(seconds=delay), str(exc))
        raise self.retry(countdown=delay, exc=exc) from exc
    _record(outbound.mark_sent, record_id)


def _record(step: Callable[..., None], *args: Any) -> None:
    """Bookkeeping after the relay answered, retried through a short database outage: lost,
    it would let the lease run out and the sweep send the e-mail a second time."""
    for pause in (1.0, 2.0, 4.0, None):
        try:
            with session_scope() as session:
                step(session, *args)
            return
        except DBAPIError:
            if pause is None:
                raise
            log.warning("could not record an e-mail's delivery; again in %s s", pause)
            time.sleep(pause)


@shared_task(name="email.resend_unsent", soft_time_limit=60, time_limit=90,
             max_retries=0, ignore_result=True)
def resend_unsent() -> int:
    """Beat task: queue a send again for each e-mail a lost task left unsent (a worker
    killed mid-send, a send enqueued while the broker was down)."""
    with session_scope() as session:
        due = outbound.due_for_resend(session)
        for record_id in due:
            enqueue_after_commit(session, send_email, record_id)
    if due:
        log.warning("re-sending %d e-mail(s) a lost task left unsent", len(due))
    return len(due)


@shared_task(name="email.poll_mailbox", soft_time_limit=300, time_limit=360,
             max_retries=0, ignore_result=True)
def poll_mailbox() -> None:
    """Beat task: fetch new mail from the IMAP mailbox (does nothing while unconfigured)."""
    result = imap.poll_mailbox(inbound.receive_in_own_transaction)
    if result is not None and (result.stored or result.rejected or result.failed):
        log.info("mailbox poll: %s stored, %s rejected, %s failed",
                 result.stored, result.rejected, result.failed)
