"""The ML team's API for the learning loop's data: candidates and their annotation, the
intent catalogue, and immutable dataset snapshots with their exports.

Thin: parse, call the `training` services, shape the response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from core.auth.dependencies import require
from core.auth.permissions import Permission
from core.auth.service import Principal
from core.database import DbSession
from training import annotation, candidates, intents, snapshots
from training.models import DatasetSnapshot, TrainingCandidate

TrainingRead = Annotated[Principal, Depends(require(Permission.TRAINING_READ))]
TrainingAnnotate = Annotated[Principal, Depends(require(Permission.TRAINING_ANNOTATE))]

router = APIRouter(prefix="/api/v1/training", tags=["training data"])

SourceName = Literal["bot_turn", "handoff_label", "not_helpful", "gap_cluster"]
StatusName = Literal["pending", "accepted", "rejected", "out_of_scope"]


class CandidateOut(BaseModel):
    id: int
    text: str = Field(description="the customer's text, personal data masked")
    source: SourceName = Field(description="the source it was first collected from")
    sources: dict[str, int] = Field(description="records merged into it, per source")
    count: int = Field(description="distinct conversations that asked it")
    predicted_intent: str | None
    confidence: float | None
    decision: str | None
    reason: str | None
    kb_score: float | None
    channel: str
    status: StatusName
    label: str | None = Field(description="the decided intent (accepted or relabelled)")
    article_id: int | None = Field(description="article it was added to as a question")
    meta: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    decided_at: datetime | None
    decided_by_id: int | None

    @classmethod
    def of(cls, c: TrainingCandidate) -> CandidateOut:
        return cls(id=c.id, text=c.text, source=c.source, sources=c.sources,
                   count=c.count, predicted_intent=c.predicted_intent, confidence=c.confidence,
                   decision=c.decision, reason=c.reason, kb_score=c.kb_score,
                   channel=c.channel, status=c.status, label=c.label,
                   article_id=c.article_id, meta=c.meta, first_seen_at=c.first_seen_at,
                   last_seen_at=c.last_seen_at, decided_at=c.decided_at,
                   decided_by_id=c.decided_by_id)


class CandidatePage(BaseModel):
    items: list[CandidateOut]
    total: int
    limit: int
    offset: int


class StatusCountsOut(BaseModel):
    pending: int
    accepted: int
    rejected: int
    out_of_scope: int


class ProgressOut(BaseModel):
    total: StatusCountsOut
    by_source: dict[str, StatusCountsOut]


class CollectionOut(BaseModel):
    created: int
    merged: int
    by_source: dict[str, int]


class RelabelIn(BaseModel):
    intent: str


class ArticleIn(BaseModel):
    article_id: int


class BulkIn(BaseModel):
    action: Literal["accept", "relabel", "reject", "out_of_scope"]
    candidate_ids: list[int] = Field(max_length=annotation.MAX_BULK)
    intent: str | None = Field(default=None, description="for relabel")


class BulkOut(BaseModel):
    updated: list[CandidateOut]


class IntentOut(BaseModel):
    name: str
    origin: Literal["rasa", "created"]
    description: str
    rasa_examples: int


class IntentIn(BaseModel):
    name: str
    description: str = ""
    candidate_ids: list[int] = Field(default_factory=list,
                                     description="candidates to label with it at once")


class IntentCreatedOut(BaseModel):
    intent: IntentOut
    labelled: list[CandidateOut]


class SnapshotIn(BaseModel):
    name: str
    include_project: bool = Field(default=True,
                                  description="include the Rasa project's NLU examples")


class SnapshotOut(BaseModel):
    id: int
    version: int
    name: str
    content_hash: str
    example_count: int
    out_of_scope_count: int
    intent_counts: dict[str, int]
    source_counts: dict[str, int]
    created_by_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, s: DatasetSnapshot) -> SnapshotOut:
        return cls(id=s.id, version=s.version, name=s.name, content_hash=s.content_hash,
                   example_count=s.example_count, out_of_scope_count=s.out_of_scope_count,
                   intent_counts=s.intent_counts, source_counts=s.source_counts,
                   created_by_id=s.created_by_id, created_at=s.created_at)


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
    return ProgressOut.model_validate(annotation.progress(session))


@router.post("/candidates/collect", response_model=CollectionOut,
             summary="Collect new candidates now (the worker also does every 10 minutes)")
def collect(principal: TrainingAnnotate, session: DbSession) -> CollectionOut:
    result = candidates.collect_candidates(session)
    return CollectionOut.model_validate(result.to_dict())


@router.post("/candidates/bulk", response_model=BulkOut,
             summary="One action on many candidates (all or nothing)")
def bulk_action(body: BulkIn, principal: TrainingAnnotate, session: DbSession) -> BulkOut:
    updated = annotation.bulk(session, action=body.action, candidate_ids=body.candidate_ids,
                              intent=body.intent, actor=principal.user_id)
    return BulkOut(updated=[CandidateOut.of(c) for c in updated])


@router.get("/candidates/{candidate_id}", response_model=CandidateOut, summary="A candidate")
def get_candidate(candidate_id: int, principal: TrainingRead,
                  session: DbSession) -> CandidateOut:
    return CandidateOut.of(candidates.get_candidate(session, candidate_id))


@router.post("/candidates/{candidate_id}/accept", response_model=CandidateOut,
             summary="Label with the predicted intent")
def accept(candidate_id: int, principal: TrainingAnnotate, session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.accept(session, candidate_id, actor=principal.user_id))


@router.post("/candidates/{candidate_id}/relabel", response_model=CandidateOut,
             summary="Label with another intent")
def relabel(candidate_id: int, body: RelabelIn, principal: TrainingAnnotate,
            session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.relabel(session, candidate_id, intent=body.intent,
                                              actor=principal.user_id))


@router.post("/candidates/{candidate_id}/reject", response_model=CandidateOut,
             summary="Not a useful example")
def reject(candidate_id: int, principal: TrainingAnnotate, session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.reject(session, candidate_id, actor=principal.user_id))


@router.post("/candidates/{candidate_id}/out-of-scope", response_model=CandidateOut,
             summary="Out of scope: kept for calibrating thresholds")
def out_of_scope(candidate_id: int, principal: TrainingAnnotate,
                 session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.mark_out_of_scope(session, candidate_id,
                                                        actor=principal.user_id))


@router.post("/candidates/{candidate_id}/article", response_model=CandidateOut,
             summary="Add as an alternative question to a knowledge-base article")
def add_to_article(candidate_id: int, body: ArticleIn, principal: TrainingAnnotate,
                   session: DbSession) -> CandidateOut:
    return CandidateOut.of(annotation.add_to_article(
        session, candidate_id, article_id=body.article_id, actor=principal.user_id))


# --- intents


def _intent_out(info: intents.IntentInfo) -> IntentOut:
    return IntentOut(name=info.name, origin=info.origin,
                     description=info.description, rasa_examples=info.rasa_examples)


@router.get("/intents", response_model=list[IntentOut], summary="The intent catalogue")
def list_intents(principal: TrainingRead, session: DbSession) -> list[IntentOut]:
    return [_intent_out(i) for i in intents.list_intents(session)]


@router.post("/intents", response_model=IntentCreatedOut, status_code=status.HTTP_201_CREATED,
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


@router.get("/snapshots/{snapshot_id}/export.yml", response_class=PlainTextResponse,
            summary="The snapshot as Rasa NLU training data (YAML)")
def export_yaml(snapshot_id: int, principal: TrainingRead,
                session: DbSession) -> PlainTextResponse:
    snapshot = snapshots.get_snapshot(session, snapshot_id)
    return PlainTextResponse(
        snapshots.export_rasa_yaml(session, snapshot_id), media_type="application/x-yaml",
        headers={"Content-Disposition":
                 f'attachment; filename="tandem-nlu-v{snapshot.version}.yml"'})


@router.get("/snapshots/{snapshot_id}/export.csv", response_class=StreamingResponse,
            summary="The snapshot as CSV: text, intent, out_of_scope, source")
def export_csv(snapshot_id: int, principal: TrainingRead,
               session: DbSession) -> StreamingResponse:
    snapshot = snapshots.get_snapshot(session, snapshot_id)
    return StreamingResponse(
        snapshots.export_csv(session, snapshot_id), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="tandem-nlu-v{snapshot.version}.csv"'})
