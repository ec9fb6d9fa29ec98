"""Send Celery tasks only after the surrounding transaction commits.

A rolled-back unit of work enqueues nothing; a committed one enqueues each task once.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING_KEY = "tandem_pending_tasks"


class _Sendable(Protocol):
    name: str

    def apply_async(self, args: Any = ..., kwargs: Any = ..., **options: Any) -> Any: ...


def enqueue_after_commit(session: Session, task: _Sendable, *args: Any) -> None:
    """Queue `task(*args)` to be sent once this session commits; duplicates collapse."""
    pending = session.info.setdefault(_PENDING_KEY, [])
    if (task, args) not in pending:
        pending.append((task, args))


def _send(task: _Sendable, args: tuple[Any, ...]) -> None:
    try:
        task.apply_async(args=args, retry=True, retry_policy={"max_retries": 2})
    except Exception:
        # The broker is down. The periodic reconcile task repairs what this missed.
        log.warning("could not enqueue %s; the periodic reconcile will catch up", task.name)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for task, args in session.info.pop(_PENDING_KEY, []):
        _send(task, args)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
