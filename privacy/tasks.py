"""Finish an erasure whose tracker-store part failed (Rasa's database was unreachable)."""

from __future__ import annotations

from celery import Task, shared_task

from core.errors import DependencyUnavailable
from privacy import tracker


@shared_task(bind=True, name="privacy.erase_tracker_events", soft_time_limit=60,
             time_limit=90, max_retries=12, ignore_result=True)
def erase_tracker_events(self: Task, conversation_ids: list[str]) -> None:
    try:
        tracker.erase_events(tuple(conversation_ids))
    except DependencyUnavailable as exc:
        raise self.retry(countdown=min(60 * 2 ** self.request.retries, 3600)) from exc
