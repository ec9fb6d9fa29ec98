"""Training candidates: the customer texts the loop thinks are worth a label.

Four sources, each read from the record that already exists (no second log):

- bot turns (`conversations.models.Message.meta`, written by the bot pipeline) that asked a
  clarifying question, or answered with an intent confidence below `LOW_CONFIDENCE_ANSWER`;
  the text is the customer's message just before the turn;
- hand-offs an agent labelled when solving (`training.models.ConversationLabel`);
- knowledge-base answers a customer rated not helpful (`knowledge_base.models.ArticleRating`);
- knowledge gaps (`knowledge_base.models.KnowledgeGap`), clustered by `knowledge_base.gaps`.

Personal data is masked (`nlu.pii.mask_text`) before anything is stored. A text whose
sentence embedding has cosine >= `DUPLICATE_COSINE` with an existing candidate is merged into
it: `count` is the number of distinct conversations that asked it, `sources` how many records
of each source it merged. Every collected record leaves a `CandidateOrigin` with a unique key,
so collecting twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Select, String, and_, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, SenderType
from core.database import utcnow
from core.errors import NotFound, ValidationFailed
from knowledge_base import gaps as kb_gaps
from knowledge_base.models import ArticleRating, KnowledgeGap
from nlu.encoders import Vectors, get_encoder
from nlu.pii import mask_text
from training import dataset_privacy as _dataset_privacy  # noqa: F401 - registers the sources
from training.models import (
    CandidateOrigin,
    CandidateSource,
    CandidateStatus,
    ConversationLabel,
    TrainingCandidate,
)

# Merge threshold on the cosine of all-MiniLM-L6-v2 embeddings of the masked texts; how it
# was chosen (CLINC150 pairs) is in docs/training_data.md.
DUPLICATE_COSINE = 0.95
# An answer below this intent confidence is worth a second look (the calibrated answer
# threshold in bot/handoff_thresholds.yml is about 0.50; answers just above it are the
# likeliest wrong ones).
LOW_CONFIDENCE_ANSWER = 0.7
# Records older than this are not collected; candidates not seen for this long are not
# merge targets any more (bounds the comparison matrix).
LOOKBACK_DAYS = 90
MAX_RECORDS_PER_SOURCE = 5000
MAX_TEXT_CHARS = 1000
# Confidence bands for filtering (the annotation page's low / medium / high).
CONFIDENCE_BANDS: dict[str, tuple[float, float]] = {
    "low": (0.0, 0.4), "medium": (0.4, LOW_CONFIDENCE_ANSWER),
    "high": (LOW_CONFIDENCE_ANSWER, 1.01),
}
ORDERS = ("count", "recent", "confidence")


@dataclass
class RawCandidate:
    """One record read from a source, before masking and merging."""

    origin_key: str
    source: str
    text: str
    seen_at: datetime
    conversation_id: str | None = None
    channel: str = ""
    predicted_intent: str | None = None
    confidence: float | None = None
    decision: str | None = None
    reason: str | None = None
    kb_score: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Further records that are the same occurrence (e.g. two replies to one message).
    extra_keys: list[str] = field(default_factory=list)


@dataclass
class CollectionResult:
    created: int = 0
    merged: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "merged": self.merged, "by_source": self.by_source}


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _not_collected(prefix: str, id_column: Any) -> Any:
    """SQL: no origin has the key `<prefix>:<id>` yet (the origin_key index answers it)."""
    return ~exists().where(
        CandidateOrigin.origin_key == literal(f"{prefix}:") + cast(id_column, String))


def _channels(session: Session, conversation_ids: set[str]) -> dict[str, str]:
    if not conversation_ids:
        return {}
    rows = session.execute(select(Conversation.id, Conversation.channel)
                           .where(Conversation.id.in_(conversation_ids))).tuples().all()
    return dict(rows)


def _customer_text_before(session: Session, conversation_id: str, message_id: int
                          ) -> tuple[int, str] | None:
    row = session.execute(
        select(Message.id, Message.body).where(
            Message.conversation_id == conversation_id,
            Message.sender_type == SenderType.CUSTOMER, Message.id < message_id)
        .order_by(Message.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


def _bot_turns(session: Session, since: datetime) -> list[RawCandidate]:
    decision = Message.meta["decision"].as_string()
    confidence = Message.meta["confidence"].as_float()
    rows = session.scalars(
        select(Message).where(
            Message.sender_type == SenderType.BOT, Message.created_at >= since,
            or_(decision == "clarify",
                and_(decision == "answer", confidence < LOW_CONFIDENCE_ANSWER)),
            _not_collected("turn", Message.id))
        .order_by(Message.id).limit(MAX_RECORDS_PER_SOURCE)).all()
    by_question: dict[int, RawCandidate] = {}
    for message in rows:
        before = _customer_text_before(session, message.conversation_id, message.id)
        if before is None:
            continue
        key = f"turn:{message.id}"
        if before[0] in by_question:
            # Several replies to one customer message are one candidate record.
            by_question[before[0]].extra_keys.append(key)
            continue
        meta = message.meta or {}
        article = meta.get("article") if isinstance(meta.get("article"), dict) else None
        by_question[before[0]] = RawCandidate(
            origin_key=key, source=CandidateSource.BOT_TURN, text=before[1],
            seen_at=message.created_at, conversation_id=message.conversation_id,
            predicted_intent=meta.get("intent") or None, confidence=_float(meta.get("confidence")),
            decision=meta.get("decision"), reason=meta.get("reason"),
            kb_score=_float(meta.get("kb_score")),
            meta={"bot_message_id": message.id, "customer_message_id": before[0],
                  "kind": meta.get("kind"),
                  **({"article_id": article.get("id")} if article else {})})
    return list(by_question.values())


def _handoff_labels(session: Session, since: datetime) -> list[RawCandidate]:
    labels = session.scalars(
        select(ConversationLabel).where(ConversationLabel.created_at >= since,
                                        _not_collected("label", ConversationLabel.id))
        .order_by(ConversationLabel.id).limit(MAX_RECORDS_PER_SOURCE)).all()
    return [RawCandidate(
        origin_key=f"label:{label.id}", source=CandidateSource.HANDOFF_LABEL, text=label.text,
        seen_at=label.created_at, conversation_id=label.conversation_id, channel=label.channel,
        # The agent's label is the best guess there is; the bot's is kept in meta.
        predicted_intent=None if label.out_of_scope else label.intent,
        confidence=label.predicted_confidence, decision="handoff",
        meta={"ticket_id": label.ticket_id, "agent_intent": label.intent,
              "agent_out_of_scope": label.out_of_scope, "bot_intent": label.predicted_intent,
              "article_id": label.article_id}) for label in labels]


def _bot_answer_before(session: Session, conversation_id: str, at: datetime
                       ) -> dict[str, Any]:
    meta = session.scalar(
        select(Message.meta).where(Message.conversation_id == conversation_id,
                                   Message.sender_type == SenderType.BOT,
                                   Message.created_at <= at)
        .order_by(Message.id.desc()).limit(1))
    return meta or {}


def _not_helpful(session: Session, since: datetime) -> list[RawCandidate]:
    ratings = session.scalars(
        select(ArticleRating).where(ArticleRating.helpful.is_(False),
                                    ArticleRating.created_at >= since,
                                    _not_collected("rating", ArticleRating.id))
        .order_by(ArticleRating.id).limit(MAX_RECORDS_PER_SOURCE)).all()
    raws = []
    for rating in ratings:
        turn = _bot_answer_before(session, rating.conversation_id, rating.created_at)
        comment = getattr(rating, "comment", None)
        raws.append(RawCandidate(
            origin_key=f"rating:{rating.id}", source=CandidateSource.NOT_HELPFUL,
            text=rating.query, seen_at=rating.created_at, conversation_id=rating.conversation_id,
            predicted_intent=turn.get("intent") or None, confidence=_float(turn.get("confidence")),
            decision=turn.get("decision"), reason=turn.get("reason"),
            kb_score=_float(turn.get("kb_score")),
            meta={"article_id": rating.article_id,
                  **({"comment": mask_text(comment)} if comment else {})}))
    return raws


def _gap_clusters(session: Session, since: datetime) -> list[RawCandidate]:
    fresh = list(session.scalars(
        select(KnowledgeGap).where(KnowledgeGap.created_at >= since,
                                   _not_collected("gap", KnowledgeGap.id))
        .order_by(KnowledgeGap.id).limit(MAX_RECORDS_PER_SOURCE)))
    by_id = {g.id: g for g in fresh}
    raws = []
    # Only the gaps not collected yet are clustered: each run sees the new ones.
    for cluster in kb_gaps.cluster(fresh):
        for gap_id in cluster.gap_ids:
            gap = by_id[gap_id]
            raws.append(RawCandidate(
                origin_key=f"gap:{gap.id}", source=CandidateSource.GAP_CLUSTER, text=gap.query,
                seen_at=gap.created_at, conversation_id=gap.conversation_id,
                kb_score=gap.score,
                meta={"gap_reason": gap.reason, "cluster_size": cluster.size,
                      "cluster_example": mask_text(cluster.examples[0])}))
    return raws


def _to_bytes(vector: Vectors) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class _MergeTargets:
    """The candidates a new text may merge into, as one matrix of unit vectors (grown by
    doubling, so adding the run's new candidates does not copy it every time)."""

    def __init__(self, session: Session, since: datetime, dimension: int) -> None:
        rows = session.execute(select(TrainingCandidate.id, TrainingCandidate.embedding)
                               .where(TrainingCandidate.last_seen_at >= since)
                               .order_by(TrainingCandidate.id)).all()
        self.ids: list[int] = []
        self._matrix = np.zeros((max(len(rows), 64), dimension), dtype=np.float32)
        for candidate_id, blob in rows:
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.shape == (dimension,):  # another encoder's vectors cannot be compared
                self.add(candidate_id, vector)

    def nearest(self, vector: Vectors) -> tuple[int | None, float]:
        if not self.ids:
            return None, 0.0
        scores = self._matrix[:len(self.ids)] @ vector
        best = int(np.argmax(scores))
        return self.ids[best], float(scores[best])

    def add(self, candidate_id: int, vector: Vectors) -> None:
        if len(self.ids) == len(self._matrix):
            self._matrix = np.vstack([self._matrix, np.zeros_like(self._matrix)])
        self._matrix[len(self.ids)] = vector
        self.ids.append(candidate_id)


def _merge(session: Session, candidate: TrainingCandidate, raw: RawCandidate) -> None:
    seen_conversation = raw.conversation_id is not None and session.scalar(
        select(exists().where(CandidateOrigin.candidate_id == candidate.id,
                              CandidateOrigin.conversation_id == raw.conversation_id)))
    if not seen_conversation:
        candidate.count += 1
    candidate.sources = {**candidate.sources,
                         raw.source: candidate.sources.get(raw.source, 0) + 1}
    candidate.last_seen_at = max(candidate.last_seen_at, raw.seen_at)
    if candidate.predicted_intent is None and raw.predicted_intent:
        candidate.predicted_intent = raw.predicted_intent
        candidate.confidence = raw.confidence
    if raw.source == CandidateSource.HANDOFF_LABEL and raw.meta:
        # An agent's label outranks the bot's guess already stored.
        candidate.meta = {**candidate.meta, **{k: v for k, v in raw.meta.items()
                                               if k.startswith("agent_")}}
        if raw.predicted_intent:
            candidate.predicted_intent = raw.predicted_intent


@dataclass
class Gathered:
    """What a collection read: the new records and their conversations' channels."""

    raws: list[RawCandidate]
    channels: dict[str, str]
    since: datetime
    now: datetime


def gather(session: Session, *, now: datetime | None = None,
           lookback_days: int = LOOKBACK_DAYS) -> Gathered:
    """Read every source's records not collected yet (reads only)."""
    now = now or utcnow()
    since = now - timedelta(days=lookback_days)
    raws: list[RawCandidate] = []
    for reader in (_bot_turns, _handoff_labels, _not_helpful, _gap_clusters):
        raws.extend(reader(session, since))
    channels = _channels(session, {r.conversation_id for r in raws if r.conversation_id})
    return Gathered(raws, channels, since, now)


def prepare(gathered: Gathered) -> list[Any]:
    """Mask each text and embed it: the slow part, which needs no database (on SQLite a
    transaction holds the write lock, and customers' messages would wait behind it)."""
    for raw in gathered.raws:
        raw.text = mask_text(" ".join(raw.text.split())[:MAX_TEXT_CHARS])
    gathered.raws = [r for r in gathered.raws if r.text]
    if not gathered.raws:
        return []
    # A gap repeats its bot turn's text: encode each distinct text once.
    distinct = list(dict.fromkeys(r.text for r in gathered.raws))
    encoded = dict(zip(distinct, get_encoder().encode(distinct), strict=True))
    return [encoded[r.text] for r in gathered.raws]


def store(session: Session, gathered: Gathered, vectors: list[Any]) -> CollectionResult:
    """Merge each prepared record into its near-duplicate candidate or add a new one."""
    result = CollectionResult()
    if not gathered.raws:
        return result
    targets = _MergeTargets(session, gathered.since, get_encoder().dimension)
    for raw, vector in zip(gathered.raws, vectors, strict=True):
        result.by_source[raw.source] = result.by_source.get(raw.source, 0) + 1
        nearest, score = targets.nearest(vector)
        candidate = session.get(TrainingCandidate, nearest) if nearest is not None else None
        if candidate is not None and score >= DUPLICATE_COSINE:
            _merge(session, candidate, raw)
            result.merged += 1
        else:
            candidate = TrainingCandidate(
                text=raw.text, source=raw.source, sources={raw.source: 1}, count=1,
                predicted_intent=raw.predicted_intent, confidence=raw.confidence,
                decision=raw.decision, reason=raw.reason, kb_score=raw.kb_score,
                channel=raw.channel or gathered.channels.get(raw.conversation_id or "", ""),
                meta=raw.meta, embedding=_to_bytes(vector), status=CandidateStatus.PENDING,
                first_seen_at=raw.seen_at, last_seen_at=raw.seen_at)
            session.add(candidate)
            session.flush()
            targets.add(candidate.id, vector)
            result.created += 1
        for key in (raw.origin_key, *raw.extra_keys):
            session.add(CandidateOrigin(candidate_id=candidate.id, origin_key=key,
                                        source=raw.source, conversation_id=raw.conversation_id,
                                        created_at=gathered.now))
        session.flush()
    return result


def collect_candidates(session: Session, *, now: datetime | None = None,
                       lookback_days: int = LOOKBACK_DAYS) -> CollectionResult:
    """Collect every source's new records into candidates (masked, merged). Idempotent.
    In one session; the worker task runs the three steps in transactions of their own."""
    gathered = gather(session, now=now, lookback_days=lookback_days)
    return store(session, gathered, prepare(gathered))


# --- reading


@dataclass(frozen=True)
class CandidateFilters:
    source: str | None = None
    predicted_intent: str | None = None
    band: str | None = None
    confidence_min: float | None = None
    confidence_max: float | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    channel: str | None = None
    status: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    # A date without a zone (e.g. "2026-12-01T00:00") is read as UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _filtered(filters: CandidateFilters) -> Select[TrainingCandidate]:
    query = select(TrainingCandidate)
    date_from, date_to = _utc(filters.date_from), _utc(filters.date_to)
    if filters.source is not None:
        if filters.source not in CandidateSource.__members__.values():
            raise ValidationFailed(f"unknown source '{filters.source}'", field="source")
        query = query.where(exists().where(CandidateOrigin.candidate_id == TrainingCandidate.id,
                                           CandidateOrigin.source == filters.source))
    if filters.status is not None:
        if filters.status not in CandidateStatus.__members__.values():
            raise ValidationFailed(f"unknown status '{filters.status}'", field="status")
        query = query.where(TrainingCandidate.status == filters.status)
    if filters.predicted_intent is not None:
        query = query.where(TrainingCandidate.predicted_intent == filters.predicted_intent)
    low, high = filters.confidence_min, filters.confidence_max
    if filters.band is not None:
        if filters.band not in CONFIDENCE_BANDS:
            raise ValidationFailed(
                f"band is one of {', '.join(CONFIDENCE_BANDS)}", field="band")
        low, high = CONFIDENCE_BANDS[filters.band]
        query = query.where(TrainingCandidate.confidence < high)
        high = None
    if low is not None:
        query = query.where(TrainingCandidate.confidence >= low)
    if high is not None:
        query = query.where(TrainingCandidate.confidence <= high)
    if date_from is not None:
        query = query.where(TrainingCandidate.last_seen_at >= date_from)
    if date_to is not None:
        query = query.where(TrainingCandidate.first_seen_at <= date_to)
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("date_from is after date_to", field="date_from")
    if filters.channel is not None:
        query = query.where(TrainingCandidate.channel == filters.channel)
    return query


def list_candidates(session: Session, filters: CandidateFilters, *, order: str = "count",
                    limit: int = 50, offset: int = 0) -> tuple[list[TrainingCandidate], int]:
    if order not in ORDERS:
        raise ValidationFailed(f"order is one of {', '.join(ORDERS)}", field="order")
    query = _filtered(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordering = {
        "count": (TrainingCandidate.count.desc(), TrainingCandidate.last_seen_at.desc()),
        "recent": (TrainingCandidate.last_seen_at.desc(),),
        "confidence": (TrainingCandidate.confidence.asc().nulls_last(),),
    }[order]
    items = session.scalars(query.order_by(*ordering, TrainingCandidate.id.desc())
                            .limit(limit).offset(offset)).all()
    return list(items), total


def get_candidate(session: Session, candidate_id: int) -> TrainingCandidate:
    candidate = session.get(TrainingCandidate, candidate_id)
    if candidate is None:
        raise NotFound(f"candidate {candidate_id} does not exist", field="candidate_id")
    return candidate
