"""Knowledge gaps: customer questions the knowledge base did not answer (below the
threshold, handed off, rated not helpful), and their clustering for editors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Message, SenderType
from core.database import utcnow
from core.errors import ValidationFailed
from knowledge_base import service
from knowledge_base.models import Article, GapReason, KnowledgeGap
from nlu.encoders import get_encoder

MAX_QUERY_CHARS = 1000
# Average-linkage clusters whose members are on average closer than this cosine distance.
CLUSTER_DISTANCE = 0.45
MAX_GAPS_CLUSTERED = 5000
EXAMPLES_SHOWN = 5


def log_gap(session: Session, query: str, reason: str, *, conversation_id: str | None = None,
            article_id: int | None = None, score: float | None = None,
            locale: str = "en") -> KnowledgeGap | None:
    query = query.strip()
    if not query:
        return None
    if reason not in GapReason.__members__.values():
        raise ValidationFailed(f"unknown gap reason '{reason}'", field="reason")
    gap = KnowledgeGap(query=query[:MAX_QUERY_CHARS], reason=reason, locale=locale,
                       conversation_id=conversation_id, article_id=article_id, score=score,
                       created_at=utcnow())
    session.add(gap)
    session.flush()
    return gap


@dataclass(frozen=True)
class GapCluster:
    size: int
    gap_ids: list[int]
    examples: list[str]  # the most central queries first
    queries: list[str]  # distinct queries, for the new article's alternative questions
    reasons: dict[str, int]


def recent_gaps(session: Session, days: int) -> list[KnowledgeGap]:
    since = utcnow() - timedelta(days=days)
    return list(session.scalars(
        select(KnowledgeGap).where(KnowledgeGap.created_at >= since)
        .order_by(KnowledgeGap.created_at.desc()).limit(MAX_GAPS_CLUSTERED)))


def cluster(gaps: list[KnowledgeGap], distance: float = CLUSTER_DISTANCE) -> list[GapCluster]:
    """Agglomerative clustering (scikit-learn, cosine, average linkage) of the queries'
    sentence embeddings; clusters ranked by volume. The number of clusters is not fixed in
    advance: the distance threshold decides it."""
    if not gaps:
        return []
    vectors = get_encoder().encode([g.query for g in gaps])
    if len(gaps) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average",
            distance_threshold=distance).fit_predict(vectors)
    clusters: list[GapCluster] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        centroid = vectors[members].mean(axis=0)
        order = members[np.argsort(-(vectors[members] @ centroid))]
        queries: list[str] = []
        for i in order:
            if gaps[i].query.lower() not in (q.lower() for q in queries):
                queries.append(gaps[i].query)
        reasons: dict[str, int] = {}
        for i in members:
            reasons[gaps[i].reason] = reasons.get(gaps[i].reason, 0) + 1
        clusters.append(GapCluster(
            size=len(members), gap_ids=[gaps[i].id for i in order],
            examples=queries[:EXAMPLES_SHOWN], queries=queries, reasons=reasons))
    clusters.sort(key=lambda c: (-c.size, c.examples[0]))
    return clusters


def clusters(session: Session, days: int = 30) -> list[GapCluster]:
    return cluster(recent_gaps(session, days))


def start_article(session: Session, gap_ids: list[int], actor_id: int | None,
                  title: str | None = None) -> Article:
    """A draft whose alternative questions are the cluster's queries."""
    if not gap_ids:
        raise ValidationFailed("choose at least one gap", field="gap_ids")
    gaps = list(session.scalars(select(KnowledgeGap).where(KnowledgeGap.id.in_(gap_ids))))
    if not gaps:
        raise ValidationFailed("none of these gaps exist", field="gap_ids")
    by_id = {g.id: g for g in gaps}
    queries: list[str] = []
    for gap_id in gap_ids:
        gap = by_id.get(gap_id)
        if gap is not None and gap.query not in queries:
            queries.append(gap.query[:500])
    title = (title or queries[0])[:200]
    base = service.slugify(title)[:100]
    slug = base
    n = 1
    while session.scalar(select(Article.id).where(Article.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return service.create_article(session, service.ArticleInput(
        title=title, slug=slug, category="uncategorised", locale=gaps[0].locale,
        body="(Write the answer here.)", alternative_questions=queries), actor_id)


# Hand-off reasons that mean "the bot did not know", not "the customer wanted a person".
_GAP_HANDOFF_REASONS = {"low_kb_score", "low_nlu_confidence", "repeated_fallback"}


def log_bot_turn(session: Session, conversation_id: str, trace: dict[str, Any]
                 ) -> KnowledgeGap | None:
    """Called for each bot reply: a clarifying question or a knowledge hand-off logs the
    customer's latest message as a gap."""
    kind = trace.get("kind")
    if kind == "clarify":
        reason = GapReason.BELOW_THRESHOLD
    elif kind == "handoff" and trace.get("reason") in _GAP_HANDOFF_REASONS:
        reason = GapReason.HANDED_OFF
    else:
        return None
    query = session.scalar(
        select(Message.body).where(Message.conversation_id == conversation_id,
                                   Message.sender_type == SenderType.CUSTOMER)
        .order_by(Message.id.desc()).limit(1))
    if not query:
        return None
    score = trace.get("kb_score")
    return log_gap(session, query, reason, conversation_id=conversation_id,
                   score=float(score) if isinstance(score, int | float) else None)
