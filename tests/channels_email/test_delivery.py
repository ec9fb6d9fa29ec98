"""Each outbound e-mail goes out once, however many send tasks run for it: a send lost with
its worker is picked up by the resend sweep; a sent, held or refused e-mail is left alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.channels.email import outbound
from bot.channels.email.tasks import resend_unsent, send_email
from conversations import service as conversations
from conversations.models import Conversation, SenderType
from core.database import session_scope, utcnow
from core.settings import get_settings
from handoff.models import EmailMessage
from tests.factories import make_ticket

MINUTES_AGO = timedelta(minutes=10)


def _queued(age: timedelta = MINUTES_AGO) -> tuple[int, str]:
    """An e-mail reply recorded `age` ago and never sent (its send task not run)."""
    with session_scope() as s:
        ticket = make_ticket(s)
        conversation = s.get(Conversation, ticket.conversation_id)
        conversation.customer_email = "ann@example.com"
        message = conversations.add_message(s, conversation, sender_type=SenderType.AGENT,
                                            body="Your refund is on its way.")
        record = outbound.queue_message(s, ticket, message)
        assert record is not None
        record.created_at = utcnow() - age
        return record.id, record.message_id


def _row(record_id: int) -> EmailMessage:
    with session_scope() as s:
        row = s.get(EmailMessage, record_id)
        s.expunge(row)
        return row


def _delivered(smtp, message_id: str) -> int:
    return sum(1 for m in smtp.messages if m.message["Message-ID"].strip() == message_id)


def test_a_send_lost_after_its_claim_is_resent_by_the_sweep_exactly_once(smtp):
    record_id, message_id = _queued()
    lease = timedelta(seconds=get_settings().email_send_lease_seconds)
    with session_scope() as s:  # an attempt claimed it, then its worker was killed
        assert outbound.claim(s, record_id, now=utcnow() - lease - timedelta(seconds=5))

    assert resend_unsent() == 1
    assert _delivered(smtp, message_id) == 1
    row = _row(record_id)
    assert row.sent_at is not None and row.claimed_at is None and row.attempts == 2

    assert resend_unsent() == 0  # sent: no longer due
    send_email(record_id)  # a redelivered or duplicate task
    send_email.delay(record_id)
    assert _delivered(smtp, message_id) == 1 and smtp.attempts == 1


def test_a_send_whose_task_never_ran_is_sent_by_the_sweep(smtp):
    _, lost_id = _queued()
    recent, _ = _queued(age=timedelta(seconds=5))  # its send task is probably still queued
    too_old, _ = _queued(age=timedelta(days=30))
    assert resend_unsent() == 1
    assert _delivered(smtp, lost_id) == 1 and len(smtp.messages) == 1
    assert _row(recent).sent_at is None and _row(too_old).sent_at is None


def test_a_leased_email_is_skipped_by_tasks_and_the_sweep(smtp):
    record_id, _ = _queued()
    with session_scope() as s:  # another worker is talking to the relay right now
        assert outbound.claim(s, record_id)
    with session_scope() as s:
        assert outbound.claim(s, record_id) is None  # two claims: one winner
    send_email(record_id)
    assert resend_unsent() == 0
    assert smtp.messages == [] and _row(record_id).attempts == 1


def test_an_email_waiting_for_its_retry_is_left_to_it(smtp):
    record_id, _ = _queued()
    with session_scope() as s:
        s.execute(update(EmailMessage).where(EmailMessage.id == record_id).values(
            next_attempt_at=utcnow() + timedelta(minutes=5), attempts=3))
    assert resend_unsent() == 0
    with session_scope() as s:  # the retry itself was lost: overdue, the sweep takes it
        s.execute(update(EmailMessage).where(EmailMessage.id == record_id).values(
            next_attempt_at=utcnow() - MINUTES_AGO))
    assert resend_unsent() == 1
    assert len(smtp.messages) == 1 and _row(record_id).next_attempt_at is None


def test_a_permanently_refused_email_is_not_retried(smtp):
    record_id, _ = _queued()
    smtp.refuse_recipients = True
    send_email(record_id)
    row = _row(record_id)
    assert row.failed_at is not None and row.sent_at is None and "550" in row.last_error
    smtp.refuse_recipients = False
    assert resend_unsent() == 0
    send_email(record_id)
    assert smtp.messages == [] and smtp.attempts == 0 and _row(record_id).attempts == 1
