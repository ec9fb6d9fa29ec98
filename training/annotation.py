"""The ML team's decisions on candidates: accept, relabel, reject, out of scope, create an
intent, add as an alternative question to a knowledge-base article; in bulk too.

A pending candidate can be decided once; afterwards only a relabel changes it (409
otherwise). Every decision is audited with the state before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.database import utcnow
from core.errors import Conflict, ValidationFailed
from knowledge_base import service as kb_service
from training import intents
from training.candidates import get_candidate
from training.models import (
    CandidateOrigin,
    CandidateSource,
    CandidateStatus,
    TrainingCandidate,
    TrainingIntent,
)

MAX_BULK = 500


class Action(StrEnum):
    ACCEPT = "accept"
    RELABEL = "relabel"
    REJECT = "reject"
    OUT_OF_SCOPE = "out_of_scope"


def _state(candidate: TrainingCandidate) -> dict[str, Any]:
    return {"status": candidate.status, "label": candidate.label,
            "article_id": candidate.article_id}


def _require_pending(candidate: TrainingCandidate) -> None:
    if candidate.status != CandidateStatus.PENDING:
        raise Conflict(f"candidate {candidate.id} is already {candidate.status}; only a "
                       f"relabel changes a decided candidate", field="candidate_id",
                       candidate_id=candidate.id, status=candidate.status)


def _decide(session: Session, candidate: TrainingCandidate, *, status: str, label: str | None,
            action: str, actor: int | None) -> TrainingCandidate:
    before = _state(candidate)
    candidate.status = status
    candidate.label = label
    candidate.decided_by_id = actor
    candidate.decided_at = utcnow()
    session.flush()
    audit.record(session, actor=actor, action=f"training.candidate.{action}",
                 target=f"candidate:{candidate.id}", before=before, after=_state(candidate))
    return candidate


def _apply(session: Session, candidate: TrainingCandidate, action: Action,
           intent: str | None, actor: int | None) -> TrainingCandidate:
    if action == Action.RELABEL:
        label = intents.require_known(session, intent)
        return _decide(session, candidate, status=CandidateStatus.ACCEPTED, label=label,
                       action="relabel", actor=actor)
    _require_pending(candidate)
    if action == Action.ACCEPT:
        if not candidate.predicted_intent:
            raise ValidationFailed(f"candidate {candidate.id} has no predicted intent to "
                                   f"accept; relabel it", field="intent")
        label = intents.require_known(session, candidate.predicted_intent)
        return _decide(session, candidate, status=CandidateStatus.ACCEPTED, label=label,
                       action="accept", actor=actor)
    if action == Action.REJECT:
        return _decide(session, candidate, status=CandidateStatus.REJECTED, label=None,
                       action="reject", actor=actor)
    return _decide(session, candidate, status=CandidateStatus.OUT_OF_SCOPE, label=None,
                   action="out_of_scope", actor=actor)


def accept(session: Session, candidate_id: int, *, actor: int | None) -> TrainingCandidate:
    """Label the candidate with its predicted intent."""
    return _apply(session, get_candidate(session, candidate_id), Action.ACCEPT, None, actor)


def relabel(session: Session, candidate_id: int, *, intent: str,
            actor: int | None) -> TrainingCandidate:
    """Label the candidate with another known intent (also changes a decided one)."""
    return _apply(session, get_candidate(session, candidate_id), Action.RELABEL, intent, actor)


def reject(session: Session, candidate_id: int, *, actor: int | None) -> TrainingCandidate:
    return _apply(session, get_candidate(session, candidate_id), Action.REJECT, None, actor)


def mark_out_of_scope(session: Session, candidate_id: int, *,
                      actor: int | None) -> TrainingCandidate:
    """Not something the bot should answer: kept for calibrating thresholds."""
    return _apply(session, get_candidate(session, candidate_id), Action.OUT_OF_SCOPE, None,
                  actor)


def _parse_action(action: str) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise ValidationFailed(f"action is one of {', '.join(a.value for a in Action)}",
                               field="action") from None


def bulk(session: Session, *, action: str, candidate_ids: list[int], intent: str | None = None,
         actor: int | None) -> list[TrainingCandidate]:
    """One action on many candidates, all or nothing: the first one that cannot take it
    fails the whole request (naming it) and nothing is changed."""
    chosen = _parse_action(action)
    ids = list(dict.fromkeys(candidate_ids))
    if not ids:
        raise ValidationFailed("choose at least one candidate", field="candidate_ids")
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"at most {MAX_BULK} candidates at once", field="candidate_ids")
    if chosen == Action.RELABEL:
        intents.require_known(session, intent)
    candidates = [get_candidate(session, i) for i in ids]
    # Check everything before changing anything, so a refusal leaves no partial change.
    for candidate in candidates:
        if chosen != Action.RELABEL:
            _require_pending(candidate)
        if chosen == Action.ACCEPT:
            if not candidate.predicted_intent:
                raise ValidationFailed(f"candidate {candidate.id} has no predicted intent to "
                                       f"accept; relabel it", field="intent",
                                       candidate_id=candidate.id)
            intents.require_known(session, candidate.predicted_intent)
    return [_apply(session, c, chosen, intent, actor) for c in candidates]


def create_intent(session: Session, *, name: str, description: str = "",
                  candidate_ids: list[int] | None = None,
                  actor: int | None) -> tuple[TrainingIntent, list[TrainingCandidate]]:
    """A new intent, optionally labelling the given candidates with it at once."""
    ids = list(dict.fromkeys(candidate_ids or []))
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"at most {MAX_BULK} candidates at once", field="candidate_ids")
    for candidate_id in ids:  # 404 before anything is created
        get_candidate(session, candidate_id)
    intent = intents.create_intent(session, name=name, description=description, actor=actor)
    labelled = bulk(session, action=Action.RELABEL, candidate_ids=ids, intent=intent.name,
                    actor=actor) if ids else []
    return intent, labelled


def add_to_article(session: Session, candidate_id: int, *, article_id: int,
                   actor: int | None) -> TrainingCandidate:
    """The candidate's (masked) text becomes an alternative question of the article, through
    the knowledge-base service (a new article version; reindexed if published). The
    candidate's own status is not changed: intent labelling is a separate decision."""
    candidate = get_candidate(session, candidate_id)
    article = kb_service.get_article(session, article_id)
    if candidate.text.casefold() in (q.casefold() for q in article.alternative_questions):
        raise Conflict(f"article {article_id} already has this question", field="article_id")
    before = _state(candidate)
    data = kb_service.ArticleInput(
        title=article.title, body=article.body, category=article.category, slug=article.slug,
        tags=list(article.tags), locale=article.locale,
        alternative_questions=[*article.alternative_questions, candidate.text],
        related_slugs=list(article.related_slugs))
    kb_service.update_article(session, article.id, data, article.version, actor)
    candidate.article_id = article.id
    session.flush()
    audit.record(session, actor=actor, action="training.candidate.add_to_article",
                 target=f"candidate:{candidate.id}", before=before,
                 after={**_state(candidate), "question": candidate.text})
    return candidate


@dataclass(frozen=True)
class StatusCounts:
    pending: int = 0
    accepted: int = 0
    rejected: int = 0
    out_of_scope: int = 0


@dataclass(frozen=True)
class Progress:
    """Candidates per status, overall and per source (every source is present)."""

    total: StatusCounts
    by_source: dict[str, StatusCounts]


def _counts(by_status: dict[str, int]) -> StatusCounts:
    return StatusCounts(**{s.value: by_status.get(s.value, 0) for s in CandidateStatus})


def progress(session: Session) -> Progress:
    """Counts per status, overall and per source (a merged candidate counts under each of
    its sources)."""
    total = dict(session.execute(
        select(TrainingCandidate.status, func.count()).group_by(TrainingCandidate.status)
    ).tuples().all())
    rows = session.execute(
        select(CandidateOrigin.source, TrainingCandidate.status,
               func.count(func.distinct(TrainingCandidate.id)))
        .join(TrainingCandidate, TrainingCandidate.id == CandidateOrigin.candidate_id)
        .group_by(CandidateOrigin.source, TrainingCandidate.status)).all()
    by_source: dict[str, dict[str, int]] = {s.value: {} for s in CandidateSource}
    for source, status, count in rows:
        by_source.setdefault(source, {})[status] = count
    return Progress(total=_counts(total),
                    by_source={source: _counts(counts) for source, counts in by_source.items()})
