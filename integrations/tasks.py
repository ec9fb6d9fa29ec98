"""Webhook delivery: one attempt per run, retried with exponential backoff."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from sqlalchemy.orm import Session

from core.database import session_scope
from core.tasks import enqueue_after_commit
from integrations import personal_data as _personal_data  # noqa: F401  - registers the source
from integrations import service


def on_domain_event(session: Session, event: str, payload: dict[str, Any]) -> None:
    """The core.events listener (wired in app/worker.py): outbox rows, sent after commit."""
    for delivery_id in service.record_event(session, event, payload):
        enqueue_after_commit(session, deliver_webhook, delivery_id)


@shared_task(bind=True, name="integrations.deliver_webhook", soft_time_limit=60,
             time_limit=90, max_retries=50, ignore_result=True)
def deliver_webhook(self: Task, delivery_id: int) -> None:
    # No transaction is held across the HTTP call (SQLite's write lock, slow receivers).
    with session_scope() as session:
        request = service.prepare_attempt(session, delivery_id)
    if request is None:
        return
    outcome = service.send(request)
    with session_scope() as session:
        retry_in = service.record_attempt(session, delivery_id, outcome)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="integrations.retry_due_webhooks", soft_time_limit=60, time_limit=90,
             max_retries=0, ignore_result=True)
def retry_due_webhooks() -> None:
    """Re-send deliveries whose retry was lost (broker down when it was scheduled)."""
    with session_scope() as session:
        due = service.due_deliveries(session)
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
