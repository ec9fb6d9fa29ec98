"""Domain events: a lower layer announces what happened without knowing who listens.

`emit(session, name, payload)` calls every listener registered for `name` (or for all
events) at once, inside the caller's transaction, so whatever a listener writes (an outbox
row, say) commits or rolls back with the change that caused it. Listeners that talk to the
outside world must defer that until after commit (`core.tasks.enqueue_after_commit`).
The composition root (app/) registers the listeners; core imports no domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Listener = Callable[[Session, str, dict[str, Any]], None]
ALL_EVENTS = "*"

_listeners: dict[str, list[Listener]] = {}


def listen(name: str, listener: Listener) -> None:
    """Register `listener` for the event `name` (or ALL_EVENTS); registering twice is a no-op."""
    registered = _listeners.setdefault(name, [])
    if listener not in registered:
        registered.append(listener)


def emit(session: Session, name: str, payload: dict[str, Any]) -> None:
    for listener in [*_listeners.get(name, ()), *_listeners.get(ALL_EVENTS, ())]:
        listener(session, name, payload)
