"""GET /healthz (liveness: each part `ok` or a reason; 503 while any is down) and GET /readyz
(readiness: 503 only without the database; each part's status and latency, and what is
degraded). The checks are operations.health's."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.worker import celery_app
from operations import health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Status of database, broker, Rasa and the KB index")
async def healthz() -> JSONResponse:
    body, healthy = health.liveness(await health.check_all(celery_app))
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/readyz", summary="Ready to take customer messages, and what is degraded")
async def readyz() -> JSONResponse:
    body, ready = health.readiness(await health.check_all(celery_app))
    return JSONResponse(body, status_code=200 if ready else 503)
