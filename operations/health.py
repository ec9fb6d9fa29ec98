"""Checks of the parts the platform runs on, for liveness (/healthz) and readiness (/readyz).

Readiness follows what a customer can still do: with the database up, messages are accepted
and kept, so the api is ready even while Rasa, the broker or the search index is missing;
those only degrade it, each in a way the operator can name. Without the database it is not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from celery import Celery
from sqlalchemy import text

from bot.rasa_client import get_rasa_client
from core.database import get_engine
from knowledge_base.retrieval import get_index_holder

OK = "ok"
PARTS = ("database", "broker", "rasa", "knowledge_base")
# What is degraded while a part is down, in words an operator acts on (docs/operations.md).
DEGRADED = {
    "database": "not ready: customer messages cannot be stored",
    "rasa": "handing off: bot unavailable, customers go to the human queue",
    "broker": "queued e-mail and background tasks delayed",
    "knowledge_base": "bot answers without the knowledge base",
}


@dataclass(frozen=True)
class PartStatus:
    status: str  # "ok", or why not
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.status == OK


def check_database() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return OK


def check_broker(celery_app: Celery) -> str:
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return OK


def check_knowledge_base() -> str:
    try:
        index = get_index_holder().get()
    except Exception as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"
    if index is None:
        return "no index built yet"
    if index.manifest.count == 0:
        return "index is empty"
    return OK


async def check_rasa() -> str:
    return await get_rasa_client().status()


async def _timed(check: Callable[[], Awaitable[str]]) -> PartStatus:
    started = time.perf_counter()
    status = await check()
    return PartStatus(status, round((time.perf_counter() - started) * 1000, 1))


def _in_thread(check: Callable[..., str], *args: Any) -> Callable[[], Awaitable[str]]:
    async def run() -> str:
        return await anyio.to_thread.run_sync(check, *args)

    return run


async def check_all(celery_app: Celery) -> dict[str, PartStatus]:
    """Every part at once: a slow broker does not hold up the answer about the others.
    `celery_app`: the composition root's, whose broker the tasks go to."""
    results = await asyncio.gather(
        _timed(_in_thread(check_database)), _timed(_in_thread(check_broker, celery_app)),
        _timed(check_rasa), _timed(_in_thread(check_knowledge_base)))
    return dict(zip(PARTS, results, strict=True))


def liveness(parts: dict[str, PartStatus]) -> tuple[dict[str, Any], bool]:
    """/healthz: each part `ok` or a reason; healthy only when all are ok."""
    healthy = all(part.ok for part in parts.values())
    return ({"status": "ok" if healthy else "degraded",
             "checks": {name: part.status for name, part in parts.items()}}, healthy)


def readiness(parts: dict[str, PartStatus]) -> tuple[dict[str, Any], bool]:
    """/readyz: ready while the database is up; what is degraded otherwise."""
    ready = parts["database"].ok
    degraded = [DEGRADED[name] for name, part in parts.items() if not part.ok]
    status = "not_ready" if not ready else "degraded" if degraded else "ready"
    return ({"status": status, "ready": ready, "degraded": degraded,
             "checks": {name: {"status": part.status, "latency_ms": part.latency_ms}
                        for name, part in parts.items()}}, ready)
