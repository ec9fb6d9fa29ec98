"""The learning loop as its APIs show it: candidates and their annotation, the intent
catalogue, dataset snapshots, the model registry (versions, metrics, comparison with live,
the promotion guard) and agents' labels. Pydantic models built from the rows and service
objects of `training`.

A model version's `metrics` is stored as JSON (training.jobs, training.evaluation,
training.guard write it); the models below give it its shape. Figures a version may have
been stored without (older versions of the job) are optional.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.schemas import Timestamp
from knowledge_base.models import Article
from training.annotation import Progress, StatusCounts
from training.candidates import CollectionResult
from training.guard import GuardResult
from training.intents import IntentInfo
from training.labels import LabelForm
from training.models import (
    ArticleDraftOrigin,
    ConversationLabel,
    DatasetSnapshot,
    ModelStatus,
    ModelVersion,
    TrainingCandidate,
)

SourceName = Literal["bot_turn", "handoff_label", "not_helpful", "gap_cluster"]
StatusName = Literal["pending", "accepted", "rejected", "out_of_scope"]

# --- candidates


class CandidateMeta(BaseModel):
    """Where a candidate came from, by source (training.candidates); a key its sources did
    not give is null."""

    bot_message_id: int | None = Field(default=None, description="bot_turn: the bot's reply")
    customer_message_id: int | None = Field(
        default=None, description="bot_turn: the customer message it answered")
    kind: str | None = Field(default=None, description="bot_turn: the kind of reply")
    article_id: int | None = Field(
        default=None, description="the article the bot offered (bot_turn, not_helpful) or "
                                  "the agent named (handoff_label)")
    ticket_id: int | None = Field(default=None, description="handoff_label: the ticket")
    agent_intent: str | None = Field(default=None,
                                     description="handoff_label: the agent's intent")
    agent_out_of_scope: bool | None = Field(
        default=None, description="handoff_label: the agent marked it out of scope")
    bot_intent: str | None = Field(default=None,
                                   description="handoff_label: the bot's guess at hand-off")
    comment: str | None = Field(default=None,
                                description="not_helpful: the customer's word, masked")
    gap_reason: str | None = Field(default=None, description="gap_cluster: why it was a gap")
    cluster_size: int | None = Field(default=None,
                                     description="gap_cluster: gaps in its cluster")
    cluster_example: str | None = Field(default=None,
                                        description="gap_cluster: the cluster's example, "
                                                    "masked")


class CandidateOut(BaseModel):
    """A customer text worth a label, with the bot's guess and the decision on it."""

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
    meta: CandidateMeta
    first_seen_at: datetime
    last_seen_at: datetime
    decided_at: datetime | None
    decided_by_id: int | None

    @classmethod
    def of(cls, c: TrainingCandidate) -> CandidateOut:
        return cls(id=c.id, text=c.text, source=c.source, sources=c.sources, count=c.count,
                   predicted_intent=c.predicted_intent, confidence=c.confidence,
                   decision=c.decision, reason=c.reason, kb_score=c.kb_score,
                   channel=c.channel, status=c.status, label=c.label, article_id=c.article_id,
                   meta=CandidateMeta.model_validate(c.meta or {}),
                   first_seen_at=c.first_seen_at, last_seen_at=c.last_seen_at,
                   decided_at=c.decided_at, decided_by_id=c.decided_by_id)


class CandidatePage(BaseModel):
    """One page of candidates and how many match the filters."""

    items: list[CandidateOut]
    total: int
    limit: int
    offset: int


class StatusCountsOut(BaseModel):
    """Candidates per status."""

    pending: int
    accepted: int
    rejected: int
    out_of_scope: int

    @classmethod
    def of(cls, counts: StatusCounts) -> StatusCountsOut:
        return cls(pending=counts.pending, accepted=counts.accepted, rejected=counts.rejected,
                   out_of_scope=counts.out_of_scope)


class ProgressOut(BaseModel):
    """Annotation progress: counts per status, overall and per source."""

    total: StatusCountsOut
    by_source: dict[str, StatusCountsOut]

    @classmethod
    def of(cls, progress: Progress) -> ProgressOut:
        return cls(total=StatusCountsOut.of(progress.total),
                   by_source={source: StatusCountsOut.of(counts)
                              for source, counts in progress.by_source.items()})


class CollectionOut(BaseModel):
    """What one collection run did."""

    created: int
    merged: int
    by_source: dict[str, int]

    @classmethod
    def of(cls, result: CollectionResult) -> CollectionOut:
        return cls(created=result.created, merged=result.merged,
                   by_source=dict(result.by_source))


class BulkOut(BaseModel):
    """The candidates one bulk action changed."""

    updated: list[CandidateOut]


# --- intents and snapshots


class IntentOut(BaseModel):
    """An intent of the catalogue: the Rasa project's or one the ML team created."""

    name: str
    origin: Literal["rasa", "created"]
    description: str
    rasa_examples: int

    @classmethod
    def of(cls, info: IntentInfo) -> IntentOut:
        return cls(name=info.name, origin=info.origin,
                   description=info.description, rasa_examples=info.rasa_examples)


class IntentCreatedOut(BaseModel):
    """A new intent and the candidates labelled with it at once."""

    intent: IntentOut
    labelled: list[CandidateOut]


class SnapshotOut(BaseModel):
    """An immutable, versioned training set."""

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


# --- model versions: what the training recorded


class CalibrationRecord(BaseModel):
    """The thresholds the training calibrated (training.calibration.Recalibration)."""

    nlu_confidence: float
    intent_margin: float
    max_wrong_answer_rate: float
    oos_share: float = Field(description="share of traffic taken to be out of scope")
    cv_answered_share: float
    cv_wrong_answer_rate: float
    cv_correct_automation: float
    folds: int
    examples: int
    intents: int
    real_rows: int = Field(description="agents' labels on live traffic used")
    real_out_of_scope: int
    real_share: float = Field(description="the real rows' share of the out-of-scope evidence")
    oos_share_source: str | None = Field(default=None,
                                         description="where oos_share comes from")


class KbClassifierRecord(BaseModel):
    """The knowledge base's question classifier, brought up to date by the training
    (knowledge_base.question_classifier.Outcome); the manifest fields are set when there is
    a classifier."""

    status: str = Field(description="trained, current, failed, no index, disabled, ...")
    detail: str = ""
    format_version: int | None = None
    model: str | None = Field(default=None, description="the encoder of its index")
    dimension: int | None = None
    index_content: str | None = None
    index_fingerprint: str | None = None
    trained_at: Timestamp | None = None
    articles: int | None = None
    questions: int | None = None
    c: float | None = None
    cv_accuracy: float | None = None
    cv_folds: int | None = None
    cv_by_c: dict[str, float] | None = None
    train_seconds: float | None = None


class TrainingRecord(BaseModel):
    """What the training job measured while training (training.jobs.run_training)."""

    train_rows: int
    intents: int
    out_of_scope_rows: int
    held_out_rows: int
    live_labels: int = Field(description="agents' labels on live traffic it calibrated with")
    seconds: float
    classifier_seconds: float
    rasa_trained: bool = Field(description="false: the live Rasa model was kept")
    calibration: CalibrationRecord
    kb_classifier: KbClassifierRecord | None = None


# --- model versions: the comparison with live and the guard


class SummaryThresholds(BaseModel):
    """The intent thresholds a model was measured at."""

    nlu_confidence: float
    intent_margin: float


class ModelSummary(BaseModel):
    """One model's figures on the held-out set (training.evaluation.evaluate_model)."""

    in_scope_accuracy: float | None = None
    oos_recall: float | None = Field(default=None,
                                     description="null: the held-out set has no out of scope")
    oos_precision: float | None = None
    macro_f1: float | None = None
    answered_share: float | None = None
    wrong_answer_rate: float | None = None
    correct_automation: float | None = None
    correct_automation_at_target: float | None = Field(
        default=None, description="at the best operating point within the target "
                                  "wrong-answer rate")
    oos_auroc: float | None = Field(default=None,
                                    description="out-of-scope recall over all thresholds")
    target_wrong_answer_rate: float | None = None
    thresholds: SummaryThresholds | None = None
    refit_without_held_out: int | None = Field(
        default=None, description="the baseline only: nlu.yml rows left out to refit it "
                                  "without the held-out texts")


class HeldOutCounts(BaseModel):
    """The frozen held-out set both models were measured on."""

    rows: int
    out_of_scope: int
    intents: int


class IntentF1(BaseModel):
    """One intent's F1, candidate against live."""

    intent: str
    candidate: float | None
    live: float | None
    delta: float


class ConfusionPair(BaseModel):
    """An intent mistaken for another, and how often."""

    true: str
    predicted: str
    count: int


class ConfusionPairs(BaseModel):
    """Each model's most frequent confusions."""

    candidate: list[ConfusionPair]
    live: list[ConfusionPair]


class HeldOutComparison(BaseModel):
    """A candidate against the live version on the candidate's held-out set
    (training.evaluation.compute)."""

    against_version: int = Field(description="the live version it was compared with")
    held_out: HeldOutCounts
    candidate: ModelSummary
    live: ModelSummary
    deltas: dict[str, float] = Field(description="candidate minus live, per summary figure")
    per_intent_f1: list[IntentF1] = Field(description="worst change first")
    confusion_pairs: ConfusionPairs
    evaluated_at: Timestamp


class GuardCheck(BaseModel):
    """One of the guard's checks."""

    metric: str
    candidate: float | None
    live: float | None
    passed: bool
    tolerance: float | None = Field(default=None, description="null when not measured")
    note: str | None = None


class GuardOut(BaseModel):
    """The promotion guard's verdict (training.guard)."""

    allowed: bool
    tolerance: float
    reasons: list[str] = Field(description="why it refused; empty when allowed")
    checks: list[GuardCheck]

    @classmethod
    def of(cls, result: GuardResult) -> GuardOut:
        return cls.model_validate(result.as_dict())


class ModelMetrics(BaseModel):
    """A version's stored metrics: set as the training, the comparison and the guard run."""

    training: TrainingRecord | None = None
    comparison: HeldOutComparison | None = None
    guard: GuardOut | None = None


class ModelVersionOut(BaseModel):
    """One version of the bot's learned models."""

    version: int
    name: str
    snapshot_id: int | None
    status: str
    progress: float
    baseline: bool
    skip_rasa: bool
    error: str | None
    metrics: ModelMetrics
    artifacts: list[str] = Field(description="names of the files it has")
    created_by_id: int | None
    promoted_by_id: int | None
    promote_reason: str | None
    forced: bool
    cancel_requested: bool
    created_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    promoted_at: Timestamp | None
    live: bool = False

    @classmethod
    def of(cls, row: ModelVersion) -> ModelVersionOut:
        options: dict[str, Any] = row.options or {}
        return cls(
            version=row.version, name=row.name, snapshot_id=row.snapshot_id,
            status=row.status, progress=round(row.progress or 0.0, 4),
            baseline=bool(options.get("baseline")), skip_rasa=bool(options.get("skip_rasa")),
            error=row.error, metrics=ModelMetrics.model_validate(row.metrics or {}),
            artifacts=sorted((row.artifacts or {}).keys()),
            created_by_id=row.created_by_id, promoted_by_id=row.promoted_by_id,
            promote_reason=row.promote_reason, forced=row.forced,
            cancel_requested=row.cancel_requested, created_at=row.created_at,
            started_at=row.started_at, finished_at=row.finished_at,
            promoted_at=row.promoted_at, live=row.status == ModelStatus.LIVE)


class ModelList(BaseModel):
    """The registry: every version, newest first."""

    live_version: int
    running_version: int | None
    versions: list[ModelVersionOut]


class Comparison(BaseModel):
    """A version compared with live, and the guard's verdict on it."""

    version: int
    against_version: int
    comparison: HeldOutComparison
    guard: GuardOut


class PromotionOut(BaseModel):
    """A version made live (promoted or rolled back to)."""

    version: ModelVersionOut
    previous_version: int | None
    forced: bool
    guard: GuardOut | None = Field(description="the guard's verdict; null for a rollback "
                                               "(no guard)")


# --- agents' labels and article drafts


class LabelOut(BaseModel):
    """An agent's label on a handed-off conversation."""

    id: int
    ticket_id: int
    intent: str | None
    out_of_scope: bool
    article_id: int | None
    predicted_intent: str | None
    labelled_by_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, label: ConversationLabel) -> LabelOut:
        return cls(id=label.id, ticket_id=label.ticket_id, intent=label.intent,
                   out_of_scope=label.out_of_scope, article_id=label.article_id,
                   predicted_intent=label.predicted_intent,
                   labelled_by_id=label.labelled_by_id, updated_at=label.updated_at)


class ArticleChoiceOut(BaseModel):
    """An article the form offers as the one that answered it."""

    id: int
    title: str
    offered_by_bot: bool


class LabelFormOut(BaseModel):
    """The solve-time labelling step, pre-filled with the bot's guess."""

    ticket_id: int
    text: str = Field(description="the customer's message(s) that needed a human")
    predicted_intent: str | None = Field(description="the bot's guess (pre-filled)")
    predicted_confidence: float | None
    intents: list[str] = Field(description="the catalogue, the bot's guess first")
    articles: list[ArticleChoiceOut]
    label: LabelOut | None

    @classmethod
    def of(cls, form: LabelForm, *, text: str) -> LabelFormOut:
        """`text`: the form's text as this viewer may see it (masked without pii.read)."""
        return cls(
            ticket_id=form.ticket_id, text=text, predicted_intent=form.predicted_intent,
            predicted_confidence=form.predicted_confidence, intents=form.intents,
            articles=[ArticleChoiceOut(id=a.id, title=a.title, offered_by_bot=a.offered_by_bot)
                      for a in form.articles],
            label=LabelOut.of(form.label) if form.label is not None else None)


class ArticleDraftOut(BaseModel):
    """The article draft made from an agent's reply, for the editors' review."""

    article_id: int
    slug: str
    title: str
    status: str
    origin: str
    editor_url: str
    masked: dict[str, int] = Field(description="personal data replaced, by kind")

    @classmethod
    def of(cls, article: Article, origin: ArticleDraftOrigin) -> ArticleDraftOut:
        return cls(article_id=article.id, slug=article.slug, title=article.title,
                   status=article.status, origin=article.origin,
                   editor_url=f"/kb/editor/articles/{article.id}", masked=dict(origin.masked))
