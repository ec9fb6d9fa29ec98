"""The ML team's API for the learning loop's data: candidates and their annotation, the
intent catalogue, and immutable dataset snapshots with their exports.

Thin: parse, call the `training` services, shape the response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import DbSession
from core.schemas import error_responses
from training import annotation, candidates, intents, snapshots
from training.schemas import (
    BulkOut,
    CandidateOut,
    CandidatePage,
    CollectionOut,
    IntentCreatedOut,
    IntentOut,
    ProgressOut,
    SnapshotOut,
    SourceName,
    StatusName,
)

TrainingRead = Annotated[Principal, Depends(require(Permission.TRAINING_READ))]
TrainingAnnotate = Annotated[Principal, Depends(require(Permission.TRAINING_ANNOTATE))]

router = APIRouter(prefix="/api/v1/training", tags=["training data"])
CONFLICT = error_responses(409)


class RelabelIn(BaseModel):
    intent: str = Field(description="an intent of the catalogue")


class ArticleIn(BaseModel):
    article_id: int = Field(description="the article to add the text to as a question")


class BulkIn(BaseModel):
    action: Literal["accept", "relabel", "reject", "out_of_scope"]
    candidate_ids: list[int] = Field(max_length=annotation.MAX_BULK)
    intent: str | None = Field(default=None, description="for relabel")


class IntentIn(BaseModel):
    name: str
    description: str = ""
    candidate_ids: list[int] = Field(default_factory=list,
                                     description="candidates to label with it at once")


class SnapshotIn(BaseModel):
    name: str
    include_project: bool = Field(default=True,
                                  description="include the Rasa project's NLU examples")


# --- candidates


@router.get("/candidates", response_model=CandidatePage, summary="Candidates, filtered")
def list_candidates(
    principal: TrainingRead, session: DbSession,
    source: SourceName | None = None, status_: StatusName | None = Query(None, alias="status"),
    intent: str | None = Query(None, description="predicted intent"),
    band: Literal["low", "medium", "high"] | None = Query(
        None, description="confidence band: low < 0.4 <= medium < 0.7 <= high"),
    confidence_min: float | None = Query(None, ge=0, le=1),
    confidence_max: float | None = Query(None, ge=0, le=1),
    date_from: datetime | None = None, date_to: datetime | None = None,
    channel: str | None = None,
    order: Literal["count", "recent", "confidence"] = "count",
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> CandidatePage:
    filters = candidates.CandidateFilters(
        source=source, predicted_intent=intent, band=band, confidence_min=confidence_min,
        confidence_max=confidence_max, date_from=date_from, date_to=date_to, channel=channel,
        status=status_)
    items, total = candidates.list_candidates(session, filters, order=order, limit=limit,
                                              offset=offset)
    return CandidatePage(items=[CandidateOut.of(c) for c in items], total=total, limit=limit,
                         offset=offset)


@router.get("/candidates/progress", response_model=ProgressOut,
            summary="Counts per status, overall and per source")
def candidate_progress(principal: TrainingRead, session: DbSession) -> ProgressOut:
    return ProgressOut.of(annotation.progress(session))


@router.post("/candidates/collect", response_model=CollectionOut,
             summary="Collect new candidates now (the worker also does every 10 minutes)")
def collect(principal: TrainingAnnotate, session: DbSession) -> CollectionOut:
    result = candidates.collect_candidates(session)
    return CollectionOut.of(result)


@router.post("/candidates/bulk", response_model=BulkOut, responses=CONFLICT,
             summary="One action on many candidates (all or nothing; 409 naming the first "
                     "one already decided)")
def bulk_action(body: BulkIn, principal: TrainingAnnotate, session: DbSession) -> BulkOut:
    updated = annotation.bulk(session, action=body.action, candidate_ids=body.candidate_ids,
                              intent=body.intent, actor=principal.user_id)
    return BulkOut(updated=[CandidateOut.of(c) for c in updated])


@router.get("/candidates/{candidate_id}", response_model=CandidateOut, summary="A candidate")
def get_candidate(candidate_id: int, principal: TrainingRead,
                  session: DbSession) -> CandidateOut:
    return CandidateOut.of(candidates.get_candidate(session, candidate_id))


@router.post("/candidates/{candidate_id}/accept", response_model=CandidateOut,
             responses=CONFLICT, summary="Label with the predicted intent")
def accept(candidate_id: int, principal: TrainingAnnotate, session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.accept(session, candidate_id, actor=principal.user_id))


@router.post("/candidates/{candidate_id}/relabel", response_model=CandidateOut,
             summary="Label with another intent")
def relabel(candidate_id: int, body: RelabelIn, principal: TrainingAnnotate,
            session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.relabel(session, candidate_id, intent=body.intent,
                                              actor=principal.user_id))


@router.post("/candidates/{candidate_id}/reject", response_model=CandidateOut,
             responses=CONFLICT, summary="Not a useful example")
def reject(candidate_id: int, principal: TrainingAnnotate, session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.reject(session, candidate_id, actor=principal.user_id))


@router.post("/candidates/{candidate_id}/out-of-scope", response_model=CandidateOut,
             responses=CONFLICT, summary="Out of scope: kept for calibrating thresholds")
def out_of_scope(candidate_id: int, principal: TrainingAnnotate,
                 session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.mark_out_of_scope(session, candidate_id,
                                                        actor=principal.user_id))


@router.post("/candidates/{candidate_id}/article", response_model=CandidateOut,
             responses=CONFLICT,
             summary="Add as an alternative question to a knowledge-base article")
def add_to_article(candidate_id: int, body: ArticleIn, principal: TrainingAnnotate,
                   session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.add_to_article(
        session, candidate_id, article_id=body.article_id, actor=principal.user_id))


# --- intents


@router.get("/intents", response_model=list[IntentOut], summary="The intent catalogue")
def list_intents(principal: TrainingRead, session: DbSession) -> list[IntentOut]:
    return [IntentOut.of(i) for i in intents.list_intents(session)]


@router.post("/intents", response_model=IntentCreatedOut, status_code=status.HTTP_201_CREATED,
             responses=CONFLICT,
             summary="Create an intent (optionally labelling candidates with it)")
def create_intent(body: IntentIn, principal: TrainingAnnotate,
                  session: DbSession) -> IntentCreatedOut:
    intent, labelled = annotation.create_intent(
        session, name=body.name, description=body.description,
        candidate_ids=body.candidate_ids, actor=principal.user_id)
    return IntentCreatedOut(
        intent=IntentOut(name=intent.name, origin="created", description=intent.description,
                         rasa_examples=0),
        labelled=[CandidateOut.of(c) for c in labelled])


# --- snapshots


@router.get("/snapshots", response_model=list[SnapshotOut], summary="Dataset snapshots")
def list_snapshots(principal: TrainingRead, session: DbSession) -> list[SnapshotOut]:
    return [SnapshotOut.of(s) for s in snapshots.list_snapshots(session)]


@router.post("/snapshots", response_model=SnapshotOut, status_code=status.HTTP_201_CREATED,
             summary="Freeze the current training data as a new snapshot")
def create_snapshot(body: SnapshotIn, principal: TrainingAnnotate,
                    session: DbSession) -> SnapshotOut:
    return SnapshotOut.of(snapshots.create_snapshot(
        session, actor=principal.user_id, name=body.name, include_project=body.include_project))


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotOut, summary="A snapshot")
def get_snapshot(snapshot_id: int, principal: TrainingRead, session: DbSession) -> SnapshotOut:
    return SnapshotOut.of(snapshots.get_snapshot(session, snapshot_id))


@router.get("/snapshots/{snapshot_id}/export.yml", response_class=Response,
            responses={200: {"description": "Rasa NLU training data, as an attachment",
                             "content": {"application/x-yaml": {"schema": {"type": "string"}}}}},
            summary="The snapshot as Rasa NLU training data (YAML)")
def export_yaml(snapshot_id: int, principal: TrainingRead,
                session: DbSession) -> PlainTextResponse:
    snapshot = snapshots.get_snapshot(session, snapshot_id)
    return PlainTextResponse(
        snapshots.export_rasa_yaml(session, snapshot_id), media_type="application/x-yaml",
        headers={"Content-Disposition":
                 f'attachment; filename="tandem-nlu-v{snapshot.version}.yml"'})


@router.get("/snapshots/{snapshot_id}/export.csv", response_class=StreamingResponse,
            responses={200: {"description": "CSV (UTF-8) with a header row, as an attachment",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}},
            summary="The snapshot as CSV: text, intent, out_of_scope, source")
def export_csv(snapshot_id: int, principal: TrainingRead,
               session: DbSession) -> StreamingResponse:
    snapshot = snapshots.get_snapshot(session, snapshot_id)
    return StreamingResponse(
        snapshots.export_csv(session, snapshot_id), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="tandem-nlu-v{snapshot.version}.csv"'})
