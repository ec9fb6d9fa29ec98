"""Worker task: collect new training candidates (beat runs it every 10 minutes)."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from core.database import session_scope
from training import candidates

log = logging.getLogger(__name__)


@shared_task(
    name="training.collect_candidates",
    soft_time_limit=300,
    time_limit=360,
    # Two collections racing for the same record: one wins the unique origin key, the other
    # rolls back and retries (and then finds nothing new).
    autoretry_for=(IntegrityError,),
    max_retries=3,
    retry_backoff=True,
    ignore_result=True,
)
def collect_candidates_task() -> dict[str, object]:
    # Read, embed outside any transaction, write: the embedding can take seconds, and an
    # open transaction would hold SQLite's write lock all that time.
    with session_scope() as session:
        gathered = candidates.gather(session)
    vectors = candidates.prepare(gathered)
    with session_scope() as session:
        result = candidates.store(session, gathered, vectors)
    log.info("training candidates collected: %d new, %d merged", result.created, result.merged)
    return result.to_dict()
