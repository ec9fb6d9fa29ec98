"""The model registry's API for the ML team: versions, training, comparison, promotion.

Reads need training.read or models.train; training and cancelling need models.train;
promoting and rolling back need models.promote. Thin: parse, call training.registry /
training.evaluation, shape the response.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.auth.dependencies import require, require_any
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import DbSession, session_scope
from core.errors import Conflict, NotFound
from core.schemas import error_responses
from training import evaluation, guard, registry
from training.models import ModelStatus, ModelVersion
from training.schemas import (
    Comparison,
    GuardOut,
    HeldOutComparison,
    ModelList,
    ModelVersionOut,
    PromotionOut,
)

router = APIRouter(prefix="/api/v1/models", tags=["model registry"])

STREAM_POLL_SECONDS = 1.0

ModelsRead = Annotated[Principal, Depends(require_any(Permission.TRAINING_READ,
                                                      Permission.MODELS_TRAIN))]
ModelsTrain = Annotated[Principal, Depends(require(Permission.MODELS_TRAIN))]
ModelsPromote = Annotated[Principal, Depends(require(Permission.MODELS_PROMOTE))]


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


CONFLICT = error_responses(409)
LOG_HEADERS = {
    "X-Log-Length": {"description": "the whole log's length (the next `offset`)",
                     "schema": {"type": "integer"}},
    "X-Model-Status": {"description": "the version's status", "schema": {"type": "string"}},
    "X-Model-Progress": {"description": "training progress, 0 to 1",
                         "schema": {"type": "number"}},
}
EVENT_STREAM: dict[int | str, dict[str, Any]] = {200: {
    "description": "Server-sent events: `data: {log, status, progress}` until the training "
                   "ends, then `event: end`",
    "content": {"text/event-stream": {"schema": {"type": "string"}}}}}
PNG: dict[int | str, dict[str, Any]] = {200: {
    "description": "A PNG picture",
    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("", response_model=ModelList, summary="Every model version, newest first")
def list_versions(session: DbSession, _: ModelsRead) -> ModelList:
    versions = registry.list_versions(session)
    running = registry.running(session)
    return ModelList(live_version=registry.live(session).version,
                     running_version=running.version if running else None,
                     versions=[ModelVersionOut.of(v) for v in versions])


@router.get("/live", response_model=ModelVersionOut, summary="The version the bot runs on")
def live_version(session: DbSession, _: ModelsRead) -> ModelVersionOut:
    return ModelVersionOut.of(registry.live(session))


@router.post("", response_model=ModelVersionOut, status_code=202, responses=CONFLICT,
             summary="Train a new version from a snapshot (409 while one trains)")
def train(body: TrainRequest, session: DbSession, principal: ModelsTrain) -> ModelVersionOut:
    row = registry.start_training(session, snapshot_id=body.snapshot_id, actor=principal,
                                  skip_rasa=body.skip_rasa, name=body.name)
    return ModelVersionOut.of(row)


@router.get("/{version}", response_model=ModelVersionOut,
            summary="One version with its metrics and its comparison with live")
def get_version(version: int, session: DbSession, _: ModelsRead) -> ModelVersionOut:
    return ModelVersionOut.of(registry.get(session, version))


@router.post("/{version}/cancel", response_model=ModelVersionOut, responses=CONFLICT,
             summary="Cancel a running training (the job stops at its next check)")
def cancel(version: int, session: DbSession, principal: ModelsTrain) -> ModelVersionOut:
    return ModelVersionOut.of(registry.cancel(session, version_id=version, actor=principal))


@router.get("/{version}/log", response_class=PlainTextResponse,
            responses={200: {"description": "The log (from `offset`)", "headers": LOG_HEADERS}},
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
            responses=EVENT_STREAM,
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


@router.post("/{version}/evaluate", response_model=Comparison, responses=CONFLICT,
             summary="Compare this version with live on its frozen held-out set")
def evaluate(version: int, session: DbSession, _: ModelsTrain,
             refresh: Annotated[bool, Query(description="Recompute even if a comparison "
                                                        "with the current live version is "
                                                        "stored (the training job stores one)"
                                            )] = False) -> Comparison:
    row = registry.get(session, version)
    current = registry.live(session)
    if row.status not in registry.TRAINED or row.version == current.version:
        raise Conflict(f"model version {version} is {row.status}; only a trained version "
                       "that is not live can be compared with live", field="version")
    comparison = evaluation.compare(session, candidate=row, live=current, refresh=refresh)
    verdict = guard.check(comparison)
    row.metrics = {**(row.metrics or {}), "guard": verdict.as_dict()}
    return Comparison(version=row.version, against_version=current.version,
                      comparison=HeldOutComparison.model_validate(comparison),
                      guard=GuardOut.of(verdict))


@router.get("/{version}/risk-coverage.png", response_class=FileResponse, responses=PNG,
            summary="The risk-coverage picture of this version against live")
def risk_coverage(version: int, session: DbSession, _: ModelsRead) -> FileResponse:
    row = registry.get(session, version)
    path = (row.artifacts or {}).get("risk_coverage_png")
    if not path or not Path(path).exists():
        raise NotFound(f"model version {version} has no risk-coverage picture yet; "
                       "evaluate it first", field="version")
    return FileResponse(path, media_type="image/png")


@router.post("/{version}/promote", response_model=PromotionOut, responses=CONFLICT,
             summary="Make a candidate live (guarded; force with a written reason)")
def promote(version: int, body: PromoteRequest, session: DbSession,
            principal: ModelsPromote) -> PromotionOut:
    result = registry.promote(session, version_id=version, actor=principal,
                              force_reason=body.force_reason)
    return PromotionOut(version=ModelVersionOut.of(result.version),
                        previous_version=result.previous.version if result.previous else None,
                        forced=result.forced,
                        guard=GuardOut.of(result.guard) if result.guard else None)


@router.post("/{version}/rollback", response_model=PromotionOut, responses=CONFLICT,
             summary="Make an earlier version live again, in one step")
def rollback(version: int, body: RollbackRequest, session: DbSession,
             principal: ModelsPromote) -> PromotionOut:
    result = registry.rollback(session, to_version_id=version, actor=principal,
                               reason=body.reason)
    return PromotionOut(version=ModelVersionOut.of(result.version),
                        previous_version=result.previous.version if result.previous else None,
                        forced=False, guard=None)
