"""Worker tasks that keep the report facts in step (reporting.facts).

reporting.refresh_facts: every 30 seconds, re-derive the conversations marked dirty since.
reporting.reconcile_facts: nightly, re-derive every conversation in committed batches, so
a change that bypassed the ORM (a bulk load, a calendar edit) is caught within a day.
"""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import select

from conversations.models import Conversation
from core.database import session_scope
from reporting import facts

log = logging.getLogger(__name__)


@shared_task(name="reporting.refresh_facts", soft_time_limit=50, time_limit=55,
             max_retries=0, ignore_result=True)
def refresh_facts_task() -> int:
    done = 0
    while True:
        with session_scope() as session:
            batch = facts.refresh_dirty(session, limit=facts.BATCH)
        done += batch
        if batch < facts.BATCH:
            break
    if done:
        log.info("report facts: refreshed %d conversations", done)
    return done


@shared_task(name="reporting.reconcile_facts", soft_time_limit=3300, time_limit=3500,
             max_retries=0, ignore_result=True)
def reconcile_facts_task() -> int:
    """Re-derive everything, one committed batch at a time (short write transactions)."""
    done, last = 0, ""
    while True:
        with session_scope() as session:
            ids = list(session.scalars(select(Conversation.id).where(Conversation.id > last)
                                       .order_by(Conversation.id).limit(facts.BATCH)))
            if not ids:
                # Facts of conversations erased outside the ORM go with them (the foreign
                # keys cascade); nothing else can be left over.
                break
            done += facts.refresh(session, ids)  # dirty marks stay for refresh_facts
        last = ids[-1]
    log.info("report facts: reconciled %d conversations", done)
    return done
