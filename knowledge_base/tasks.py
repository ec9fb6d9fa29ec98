"""Worker tasks for the knowledge base. Stable names, time limits, bounded retries.

Every task that saves the index schedules a debounced retrain of the question classifier:
`train_classifier` runs `kb_classifier_debounce_seconds` later with the index save that
scheduled it, and trains only if no later save happened meanwhile (that save scheduled a
run of its own). The periodic reconcile schedules one too whenever the stored classifier
does not fit the index, so a lost message or a worker restart only delays it."""

from __future__ import annotations

import logging

from celery import shared_task

from core.database import session_scope
from core.settings import get_settings
from knowledge_base import indexing, question_classifier

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
    schedule_classifier_retrain()
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
    schedule_classifier_retrain()
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
    if not drift.clean or question_classifier.needs_training():
        schedule_classifier_retrain()
    if not drift.clean:
        log.warning("knowledge base index drift repaired: missing=%s stale=%s changed=%s",
                    drift.missing, drift.stale, drift.changed)
    return not drift.clean


@shared_task(
    name="knowledge_base.train_classifier",
    soft_time_limit=900,
    time_limit=960,
    autoretry_for=(OSError,),
    max_retries=2,
    retry_backoff=True,
    ignore_result=True,
)
def train_classifier_task(generation: str) -> str:
    """The debounced retrain scheduled by an index save (`generation` names that save)."""
    outcome = question_classifier.retrain_if_settled(generation)
    log.info("knowledge base classifier: %s %s", outcome.status, outcome.detail)
    return outcome.status


def schedule_classifier_retrain() -> None:
    settings = get_settings()
    if not settings.kb_classifier_enabled:
        return
    generation = question_classifier.generation(settings.index_dir)
    if generation is None:
        return
    try:
        train_classifier_task.apply_async(
            args=[generation], countdown=settings.kb_classifier_debounce_seconds,
            retry=True, retry_policy={"max_retries": 2})
    except Exception:
        # The broker is down; search uses the fused ranking alone meanwhile.
        log.warning("could not schedule the classifier retrain; the periodic reconcile will")
