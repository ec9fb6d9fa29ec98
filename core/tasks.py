"""Send Celery tasks only after the surrounding transaction commits.

A rolled-back unit of work enqueues nothing; a committed one enqueues each task once.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core import after_commit

log = logging.getLogger(__name__)

_PENDING_KEY = "tandem_pending_tasks"


class _Sendable(Protocol):
    name: str

    def apply_async(self, args: Any = ..., kwargs: Any = ..., **options: Any) -> Any: ...


def enqueue_after_commit(session: Session, task: _Sendable, *args: Any) -> None:
    """Queue `task(*args)` to be sent once this session commits; duplicates collapse."""
    after_commit.defer(session, _PENDING_KEY, (task, args), unique=True)


def _send(task: _Sendable, args: tuple[Any, ...]) -> None:
    try:
        task.apply_async(args=args, retry=True, retry_policy={"max_retries": 2})
    except Exception:
        # The broker is down. The periodic reconcile task repairs what this missed.
        log.warning("could not enqueue %s; the periodic reconcile will catch up", task.name)


def _send_all(pending: list[tuple[_Sendable, tuple[Any, ...]]]) -> None:
    for task, args in pending:
        _send(task, args)


after_commit.register(_PENDING_KEY, _send_all)
