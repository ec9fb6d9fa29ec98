"""Work that must wait until the session's outermost transaction commits.

SQLAlchemy fires `after_commit` and `after_rollback` for savepoints too
(`session.begin_nested()`): releasing a savepoint is not a commit, and rolling one back
discards only what was deferred inside it. This module keeps one list per purpose in
`session.info`, remembers how long each list was when a savepoint began, and hands the
items to their purpose's handler only at the real commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_MARKS = "tandem_deferred_marks"
_handlers: dict[str, Callable[[list[Any]], None]] = {}


def register(key: str, handler: Callable[[list[Any]], None]) -> None:
    """`handler(items)` runs after each real commit that deferred something under `key`."""
    _handlers[key] = handler


def defer(session: Session, key: str, item: Any, *, unique: bool = False) -> None:
    pending = session.info.setdefault(key, [])
    if not (unique and item in pending):
        pending.append(item)


@event.listens_for(Session, "after_transaction_create")
def _savepoint_started(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        lengths = {key: len(session.info.get(key, [])) for key in _handlers}
        session.info.setdefault(_MARKS, []).append(lengths)


@event.listens_for(Session, "after_transaction_end")
def _savepoint_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested and session.info.get(_MARKS):
        session.info[_MARKS].pop()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    session.info.pop(_MARKS, None)
    for key, handler in _handlers.items():
        items = session.info.pop(key, None)
        if items:
            handler(items)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        marks = session.info.get(_MARKS)
        if marks:  # drop only what the rolled-back savepoint deferred
            for key, length in marks[-1].items():
                if key in session.info:
                    del session.info[key][length:]
        return
    session.info.pop(_MARKS, None)
    for key in _handlers:
        session.info.pop(key, None)
