"""Live updates for WebSockets: publish anywhere, delivered to subscribers in every api process.

`Hub` fans events out to this process's sockets; core/event_bus.py carries them between
processes. Publishers are often synchronous service code in a worker thread, so publishing
is thread-safe. Events that describe stored changes are published only after the
transaction that produced them commits (`publish_after_commit`); hints such as "typing" are
published at once (`publish`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.orm import Session

from core import after_commit
from core.event_bus import get_bus

_PENDING_KEY = "tandem_pending_events"
QUEUE_LIMIT = 1000


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]]]
        self._subscribers = defaultdict(set)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Deliver to this process's subscribers (the bus calls this for every event)."""
        with self._lock:
            targets = list(self._subscribers.get(topic, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(_offer, queue, payload)
            except RuntimeError:  # the subscriber's loop has closed
                continue

    def subscriber_count(self) -> int:
        with self._lock:
            return len({entry for entries in self._subscribers.values() for entry in entries})

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            for topic in topics:
                self._subscribers[topic].add(entry)
        try:
            yield queue
        finally:
            with self._lock:
                for topic in topics:
                    self._subscribers[topic].discard(entry)
                    if not self._subscribers[topic]:
                        del self._subscribers[topic]


def _offer(queue: asyncio.Queue[Any], payload: dict[str, Any]) -> None:
    if queue.full():  # a stalled client must not grow memory without bound
        queue.get_nowait()
    queue.put_nowait(payload)


hub = Hub()


def publish(topic: str, payload: dict[str, Any]) -> None:
    """Send a hint to every process's subscribers now (nothing stored backs it)."""
    get_bus().publish([(topic, payload)])


def publish_after_commit(session: Session, topic: str, payload: dict[str, Any]) -> None:
    after_commit.defer(session, _PENDING_KEY, (topic, payload))


async def serve_events() -> None:
    """In an api process, until cancelled: feed events from every process to this hub."""
    await get_bus().run(hub.publish)


def _publish_all(pending: list[tuple[str, dict[str, Any]]]) -> None:
    get_bus().publish(pending)


after_commit.register(_PENDING_KEY, _publish_all)
