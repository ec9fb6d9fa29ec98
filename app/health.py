"""GET /healthz: each required part is `ok` or a reason; 503 while any is down."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot.rasa_client import get_rasa_client
from core.database import get_engine
from knowledge_base.retrieval import get_index_holder

router = APIRouter(tags=["health"])


def _database() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _broker() -> str:
    from app.worker import celery_app

    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _knowledge_base() -> str:
    try:
        index = get_index_holder().get()
    except Exception as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"
    if index is None:
        return "no index built yet"
    if index.manifest.count == 0:
        return "index is empty"
    return "ok"


@router.get("/healthz", summary="Status of database, broker, Rasa and the KB index")
async def healthz() -> JSONResponse:
    checks: dict[str, Any] = {
        "database": await run_in_threadpool(_database),
        "broker": await run_in_threadpool(_broker),
        "rasa": await get_rasa_client().status(),
        "knowledge_base": await run_in_threadpool(_knowledge_base),
    }
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks},
                        status_code=200 if healthy else 503)
