"""Worker tasks for the knowledge base. Stable names, time limits, bounded retries."""

from __future__ import annotations

import logging

from celery import shared_task

from core.database import session_scope
from knowledge_base import indexing

log = logging.getLogger(__name__)


@shared_task(
    name="knowledge_base.rebuild_index",
    soft_time_limit=600,
    time_limit=660,
    autoretry_for=(OSError,),
    max_retries=3,
    retry_backoff=True,
    ignore_result=True,
)
def rebuild_index_task() -> int:
    with session_scope() as session:
        manifest = indexing.rebuild_index(session)
    log.info("knowledge base index rebuilt: %d chunks", manifest.count)
    return manifest.count


@shared_task(
    name="knowledge_base.reconcile_index",
    soft_time_limit=600,
    time_limit=660,
    ignore_result=True,
)
def reconcile_index_task() -> bool:
    """Rebuild when the index no longer matches the published articles (a missed event)."""
    with session_scope() as session:
        if indexing.index_is_current(session):
            return False
        indexing.rebuild_index(session)
    return True
