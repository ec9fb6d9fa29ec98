"""The model registry's API for the ML team: versions, training, comparison, promotion.

Reads need training.read or models.train; training and cancelling need models.train;
promoting and rolling back need models.promote. Thin: parse, call training.registry /
training.evaluation, shape the response.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.auth.dependencies import current_principal, require
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import DbSession, session_scope
from core.errors import NotFound, PermissionDenied
from training import evaluation, guard, registry
from training.models import ModelStatus, ModelVersion

router = APIRouter(prefix="/api/v1/models", tags=["model registry"])

STREAM_POLL_SECONDS = 1.0


def _require_any(*permissions: Permission) -> Callable[..., Principal]:
    def dependency(request: Request, session: DbSession) -> Principal:
        principal = current_principal(request, session)
        if principal.mfa_enrolment_required or not any(principal.can(p) for p in permissions):
            names = " or ".join(f"'{p.value}'" for p in permissions)
            raise PermissionDenied(f"this needs the permission {names}")
        return principal

    dependency.__name__ = "require_models_read"
    return dependency


ModelsRead = Annotated[Principal, Depends(_require_any(Permission.TRAINING_READ,
                                                       Permission.MODELS_TRAIN))]
ModelsTrain = Annotated[Principal, Depends(require(Permission.MODELS_TRAIN))]
ModelsPromote = Annotated[Principal, Depends(require(Permission.MODELS_PROMOTE))]


class ModelVersionOut(BaseModel):
    version: int
    name: str
    snapshot_id: int | None
    status: str
    progress: float
    baseline: bool
    skip_rasa: bool
    error: str | None
    metrics: dict[str, Any]
    artifacts: list[str]
    created_by_id: int | None
    promoted_by_id: int | None
    promote_reason: str | None
    forced: bool
    cancel_requested: bool
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    promoted_at: str | None
    live: bool = False


class ModelList(BaseModel):
    live_version: int
    running_version: int | None
    versions: list[ModelVersionOut]


class TrainRequest(BaseModel):
    snapshot_id: int = Field(ge=1, description="The dataset snapshot to train from")
    skip_rasa: bool = Field(default=False, description="Train the platform classifier only; "
                            "the new version keeps the live Rasa model")
    name: str = Field(default="", max_length=120)


class PromoteRequest(BaseModel):
    force_reason: str | None = Field(
        default=None, max_length=2000,
        description="Promote although the guard refuses; a written reason (audited)")


class RollbackRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class Comparison(BaseModel):
    version: int
    against_version: int
    comparison: dict[str, Any]
    guard: dict[str, Any]


class PromotionOut(BaseModel):
    version: ModelVersionOut
    previous_version: int | None
    forced: bool
    guard: dict[str, Any]


def _out(row: ModelVersion) -> ModelVersionOut:
    return ModelVersionOut(**registry.version_dict(row), live=row.status == ModelStatus.LIVE)


@router.get("", response_model=ModelList, summary="Every model version, newest first")
def list_versions(session: DbSession, _: ModelsRead) -> ModelList:
    versions = registry.list_versions(session)
    running = registry.running(session)
    return ModelList(live_version=registry.live(session).version,
                     running_version=running.version if running else None,
                     versions=[_out(v) for v in versions])


@router.get("/live", response_model=ModelVersionOut, summary="The version the bot runs on")
def live_version(session: DbSession, _: ModelsRead) -> ModelVersionOut:
    return _out(registry.live(session))


@router.post("", response_model=ModelVersionOut, status_code=202,
             summary="Train a new version from a snapshot (409 while one trains)")
def train(body: TrainRequest, session: DbSession, principal: ModelsTrain) -> ModelVersionOut:
    row = registry.start_training(session, snapshot_id=body.snapshot_id, actor=principal,
                                  skip_rasa=body.skip_rasa, name=body.name)
    return _out(row)


@router.get("/{version}", response_model=ModelVersionOut,
            summary="One version with its metrics and its comparison with live")
def get_version(version: int, session: DbSession, _: ModelsRead) -> ModelVersionOut:
    return _out(registry.get(session, version))


@router.post("/{version}/cancel", response_model=ModelVersionOut,
             summary="Cancel a running training (the job stops at its next check)")
def cancel(version: int, session: DbSession, principal: ModelsTrain) -> ModelVersionOut:
    return _out(registry.cancel(session, version_id=version, actor=principal))


@router.get("/{version}/log", response_class=PlainTextResponse,
            summary="The training log as text; `offset` returns only what came after it")
def training_log(version: int, session: DbSession, _: ModelsRead,
                 offset: Annotated[int, Query(ge=0)] = 0) -> PlainTextResponse:
    row = registry.get(session, version)
    text = row.log or ""
    return PlainTextResponse(text[offset:], headers={
        "X-Log-Length": str(len(text)), "X-Model-Status": row.status,
        "X-Model-Progress": str(round(row.progress or 0.0, 4))})


def _log_state(version: int, offset: int) -> tuple[str, str, float, int]:
    with session_scope() as session:
        row = session.get(ModelVersion, version)
        if row is None:
            raise NotFound(f"model version {version} does not exist", field="version")
        text = row.log or ""
        return text[offset:], row.status, row.progress or 0.0, len(text)


@router.get("/{version}/log/stream", response_class=StreamingResponse,
            summary="Server-sent events: log lines and progress until the training ends")
async def stream_log(version: int, session: DbSession, _: ModelsRead) -> StreamingResponse:
    registry.get(session, version)  # 404 before the stream starts

    async def events() -> AsyncIterator[str]:
        offset = 0
        while True:
            text, status, progress, offset_now = await run_in_threadpool(
                _log_state, version, offset)
            offset = offset_now
            payload = {"log": text, "status": status, "progress": round(progress, 4)}
            yield f"data: {json.dumps(payload)}\n\n"
            if status != ModelStatus.TRAINING:
                yield "event: end\ndata: {}\n\n"
                return
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


@router.post("/{version}/evaluate", response_model=Comparison,
             summary="Compare this version with live on its frozen held-out set")
def evaluate(version: int, session: DbSession, _: ModelsTrain,
             refresh: Annotated[bool, Query(description="Recompute even if a comparison "
                                                        "with the current live version is "
                                                        "stored (the training job stores one)"
                                            )] = False) -> Comparison:
    row = registry.get(session, version)
    current = registry.live(session)
    if row.status not in registry.TRAINED or row.version == current.version:
        from core.errors import Conflict

        raise Conflict(f"model version {version} is {row.status}; only a trained version "
                       "that is not live can be compared with live", field="version")
    comparison = evaluation.compare(session, candidate=row, live=current, refresh=refresh)
    verdict = guard.check(comparison).as_dict()
    row.metrics = {**(row.metrics or {}), "guard": verdict}
    return Comparison(version=row.version, against_version=current.version,
                      comparison=comparison, guard=verdict)


@router.get("/{version}/risk-coverage.png", response_class=FileResponse,
            summary="The risk-coverage picture of this version against live")
def risk_coverage(version: int, session: DbSession, _: ModelsRead) -> FileResponse:
    row = registry.get(session, version)
    path = (row.artifacts or {}).get("risk_coverage_png")
    if not path or not Path(path).exists():
        raise NotFound(f"model version {version} has no risk-coverage picture yet; "
                       "evaluate it first", field="version")
    return FileResponse(path, media_type="image/png")


@router.post("/{version}/promote", response_model=PromotionOut,
             summary="Make a candidate live (guarded; force with a written reason)")
def promote(version: int, body: PromoteRequest, session: DbSession,
            principal: ModelsPromote) -> PromotionOut:
    result = registry.promote(session, version_id=version, actor=principal,
                              force_reason=body.force_reason)
    return PromotionOut(version=_out(result.version),
                        previous_version=result.previous.version if result.previous else None,
                        forced=result.forced, guard=result.guard)


@router.post("/{version}/rollback", response_model=PromotionOut,
             summary="Make an earlier version live again, in one step")
def rollback(version: int, body: RollbackRequest, session: DbSession,
             principal: ModelsPromote) -> PromotionOut:
    result = registry.rollback(session, to_version_id=version, actor=principal,
                               reason=body.reason)
    return PromotionOut(version=_out(result.version),
                        previous_version=result.previous.version if result.previous else None,
                        forced=False, guard={})
