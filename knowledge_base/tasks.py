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
    name="knowledge_base.sync_article",
    soft_time_limit=120,
    time_limit=150,
    autoretry_for=(OSError,),
    max_retries=3,
    retry_backoff=True,
    ignore_result=True,
)
def sync_article_task(article_id: int) -> str:
    """Publish / archive / edit of a published article: update only its chunks."""
    with session_scope() as session:
        outcome = indexing.sync_article(session, article_id)
    log.info("knowledge base article %d indexed: %s", article_id, outcome)
    return outcome


@shared_task(
    name="knowledge_base.reconcile_index",
    soft_time_limit=600,
    time_limit=660,
    ignore_result=True,
)
def reconcile_index_task() -> bool:
    """Repair drift between the index and the published articles (a missed event)."""
    with session_scope() as session:
        drift = indexing.reconcile(session)
    if not drift.clean:
        log.warning("knowledge base index drift repaired: missing=%s stale=%s changed=%s",
                    drift.missing, drift.stale, drift.changed)
    return not drift.clean
