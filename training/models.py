"""What the learning loop stores: agents' labels, candidates and datasets, the model registry.

Each helper's models live in their own section; the loop reads the bot's turn records
(`conversations.models.Message.meta`) directly instead of keeping a second log.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

import conversations.models  # noqa: F401 - registers "conversations" for the foreign keys
import core.auth.models  # noqa: F401 - registers "users" for the foreign keys
import handoff.models  # noqa: F401 - registers "tickets" for the foreign keys
import knowledge_base.models  # noqa: F401 - registers "kb_articles" for the foreign keys
from core.database import Base, UTCDateTime, utcnow

# --- capture (L1)


class ConversationLabel(Base):
    """An agent's label on a handed-off conversation, given when they solve it: which intent
    the customer's first message(s) had (or that it was out of scope / a new topic), and which
    knowledge-base article answered it, if any. One per ticket; labelling again replaces it."""

    __tablename__ = "training_conversation_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    # Customer text: erasing the conversation erases its labels (privacy sweep + source).
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    # The text that needed a human: the customer's message(s) the bot could not handle.
    text: Mapped[str] = mapped_column(Text)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # None together with out_of_scope=True: no known intent fits.
    intent: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    out_of_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the bot guessed (ticket.detected_intent) when it handed off, for comparison.
    predicted_intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    predicted_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL"), nullable=True)
    channel: Mapped[str] = mapped_column(String(20), default="")
    labelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ticket_id": self.ticket_id,
                "conversation_id": self.conversation_id, "text": self.text,
                "intent": self.intent, "out_of_scope": self.out_of_scope,
                "predicted_intent": self.predicted_intent,
                "predicted_confidence": self.predicted_confidence,
                "article_id": self.article_id, "labelled_by_id": self.labelled_by_id,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


class ArticleDraftOrigin(Base):
    """Where an article draft made from an agent's reply came from: the ticket, the agent's
    message and the customer question it answered (the draft itself is a knowledge-base
    article with origin "agent"; the texts in it were masked before they landed)."""

    __tablename__ = "training_article_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True)
    # The customer's conversation: erasing it erases this link and the unpublished draft.
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reply_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, unique=True)
    question_message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # What the masking replaced, by kind ({"email": 1, ...}); never the values.
    masked: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- candidates and datasets (L2)


class TrainingIntent(Base):
    """An intent the ML team created; the catalogue is these plus the Rasa project's own."""

    __tablename__ = "training_intents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CandidateSource(StrEnum):
    BOT_TURN = "bot_turn"  # a clarify or low-confidence bot turn
    HANDOFF_LABEL = "handoff_label"  # a handed-off first message an agent labelled
    NOT_HELPFUL = "not_helpful"  # a knowledge-base answer a customer rated not helpful
    GAP_CLUSTER = "gap_cluster"  # a knowledge gap, clustered with its neighbours


class CandidateStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    OUT_OF_SCOPE = "out_of_scope"


class TrainingCandidate(Base):
    """A customer text that may become a training example. The text is stored masked; its
    near-duplicates are merged into it (`count`, `sources`)."""

    __tablename__ = "training_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), index=True)  # the first one seen
    sources: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)
    predicted_intent: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    kb_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    channel: Mapped[str] = mapped_column(String(20), default="", index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unit-length float32 sentence embedding of `text`, for merging near-duplicates.
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=CandidateStatus.PENDING, index=True)
    # The decided intent (accepted / relabelled); None otherwise.
    label: Mapped[str | None] = mapped_column(String(80), nullable=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL"), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CandidateOrigin(Base):
    """One record the collector turned into (or merged into) a candidate. The unique key
    makes collection idempotent: a record already seen is never collected again."""

    __tablename__ = "training_candidate_origins"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("training_candidates.id", ondelete="CASCADE"), index=True)
    origin_key: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(20), index=True)
    # Customer text came from here: erasing the conversation erases the link.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetSnapshot(Base):
    """An immutable, versioned training set; its examples are stored with it."""

    __tablename__ = "training_dataset_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(120))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    example_count: Mapped[int] = mapped_column(Integer)
    out_of_scope_count: Mapped[int] = mapped_column(Integer, default=0)
    intent_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    source_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SnapshotExample(Base):
    """One masked example of a snapshot; intent None = out of scope (kept for calibrating
    thresholds, never trained as an intent)."""

    __tablename__ = "training_snapshot_examples"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("training_dataset_snapshots.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(80), nullable=True)
    source: Mapped[str] = mapped_column(String(20))


class SnapshotImmutable(RuntimeError):
    """A programming error: snapshots are written once, at creation."""


@event.listens_for(Session, "before_flush")
def _refuse_snapshot_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, DatasetSnapshot | SnapshotExample) and (
                obj in session.deleted or session.is_modified(obj)):
            raise SnapshotImmutable(f"{type(obj).__name__} {obj.id} cannot change")



# --- registry (L3)


class ModelStatus(StrEnum):
    TRAINING = "training"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANDIDATE = "candidate"  # trained; may be evaluated and promoted
    LIVE = "live"  # the one version the bot runs on
    RETIRED = "retired"  # was live; a rollback target


class ModelVersion(Base):
    """One version of the bot's learned models: the platform intent classifier, its
    calibrated thresholds and the Rasa model, trained from one dataset snapshot.

    Version 1 is the baseline: the models `tandem bot train` makes from bot/rasa, registered
    the first time the registry is used. `live_marker` / `training_marker` are True on the
    one live / training row and NULL elsewhere; being unique, they make a second live row or
    a second concurrent training impossible on every backend.
    """

    __tablename__ = "model_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(120), default="")
    # Not a foreign key: the snapshots come from an independent migration branch.
    snapshot_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default=ModelStatus.TRAINING, index=True)
    live_marker: Mapped[bool | None] = mapped_column(Boolean, nullable=True, unique=True)
    training_marker: Mapped[bool | None] = mapped_column(Boolean, nullable=True, unique=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Files of this version under artifact_dir: classifier, thresholds, rasa_model, ...
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifact_dir: Mapped[str] = mapped_column(String(500), default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    promoted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    promote_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Heartbeat while training: a row that stops moving past the time limit is abandoned.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
