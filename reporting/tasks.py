"""Background work of scheduled reports and alerts (Celery; beat entries in app/worker.py).

- reporting.send_due_summaries (beat, every 5 minutes): claim the due summary e-mails and
  queue one send each, after commit;
- reporting.send_summary: compute one summary and mail it (retried with backoff);
- reporting.evaluate_alerts (beat, every minute): evaluate the alert rules; the console
  notices are written in that transaction, the e-mails queued after it commits;
- reporting.send_alert_email: mail one alert or recovery notice (retried with backoff).
"""

from __future__ import annotations

import logging
from datetime import date
from email.message import EmailMessage

from celery import Task, shared_task

from core import mail as smtp
from core.database import session_scope
from core.tasks import enqueue_after_commit
from reporting import alerts, mail, subscriptions

log = logging.getLogger(__name__)


@shared_task(name="reporting.send_due_summaries", soft_time_limit=120, time_limit=180,
             max_retries=0, ignore_result=True)
def send_due_summaries() -> int:
    with session_scope() as session:
        claimed = subscriptions.claim_due(session)
        for subscription_id, first, last in claimed:
            enqueue_after_commit(session, send_summary, subscription_id, first.isoformat(),
                                 last.isoformat())
    return len(claimed)


@shared_task(bind=True, name="reporting.send_summary", soft_time_limit=120, time_limit=180,
             max_retries=10, ignore_result=True)
def send_summary(self: Task, subscription_id: int, first: str, last: str) -> None:
    with session_scope() as session:
        mime = subscriptions.summary_email(session, subscription_id, date.fromisoformat(first),
                                           date.fromisoformat(last))
    if mime is not None:
        _deliver(self, mime)


@shared_task(name="reporting.evaluate_alerts", soft_time_limit=50, time_limit=60,
             max_retries=0, ignore_result=True)
def evaluate_alerts() -> int:
    with session_scope() as session:
        notices = alerts.evaluate(session)
        for notice in notices:
            enqueue_after_commit(session, send_alert_email, notice.episode_id, notice.user_id,
                                 notice.event)
    return len(notices)


@shared_task(bind=True, name="reporting.send_alert_email", soft_time_limit=60, time_limit=90,
             max_retries=10, ignore_result=True)
def send_alert_email(self: Task, episode_id: int, user_id: int, event: str) -> None:
    with session_scope() as session:
        found = alerts.notice_email(session, alerts.Notice(episode_id, user_id, event))
    if found is None:
        return
    user, subject, body = found
    _deliver(self, mail.compose(to_name=user.display_name, to_address=user.email,
                                subject=subject, body=body))


def _deliver(task: Task, mime: EmailMessage) -> None:
    # No transaction is held during the SMTP conversation.
    try:
        smtp.deliver(mime)
    except Exception as exc:
        if smtp.is_permanent(exc):
            log.error("e-mail %s refused by the relay, not retried: %s", mime["Message-ID"], exc)
            return
        delay = smtp.retry_delay(task.request.retries)
        log.warning("e-mail %s not sent (%s); retry in %s s", mime["Message-ID"], exc, delay)
        raise task.retry(countdown=delay, exc=exc) from exc
