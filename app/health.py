"""GET /healthz (liveness: each part `ok` or a reason; 503 while any is down) and GET /readyz
(readiness: 503 only without the database; each part's status and latency, and what is
degraded). The checks are operations.health's."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.worker import celery_app
from operations import health

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """Whether every part the platform runs on is up."""

    status: Literal["ok", "degraded"]
    checks: dict[str, str] = Field(
        description="By part (database, broker, rasa, knowledge_base): `ok`, or why not")


class PartCheck(BaseModel):
    """One part's status and how long checking it took."""

    status: str = Field(description="`ok`, or why not")
    latency_ms: float


class Readiness(BaseModel):
    """Whether customer messages are taken (the database is up), and what is degraded."""

    status: Literal["ready", "degraded", "not_ready"]
    ready: bool
    degraded: list[str] = Field(description="What does not work while a part is down, in "
                                            "words an operator acts on")
    checks: dict[str, PartCheck] = Field(
        description="By part (database, broker, rasa, knowledge_base)")


@router.get("/healthz", summary="Status of database, broker, Rasa and the KB index",
            responses={200: {"description": "Every part is ok. While any part is down the "
                                            "answer is 503 with this same body"}})
async def healthz(response: Response) -> Liveness:
    body, healthy = health.liveness(await health.check_all(celery_app))
    response.status_code = 200 if healthy else 503
    return Liveness.model_validate(body)


@router.get("/readyz", summary="Ready to take customer messages, and what is degraded",
            responses={200: {"description": "Ready (perhaps degraded). Without the database "
                                            "the answer is 503 with this same body"}})
async def readyz(response: Response) -> Readiness:
    body, ready = health.readiness(await health.check_all(celery_app))
    response.status_code = 200 if ready else 503
    return Readiness.model_validate(body)
