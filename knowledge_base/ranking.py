"""Fuse dense and lexical evidence into one article ranking.

Per article: the best chunk's cosine (max-sim over title, alternative questions and
passages), plus ALPHA x the mean of its best TOP_M chunk cosines (an article several of whose
phrasings match beats one lucky near-duplicate), plus BETA x its best BM25 score relative to
the query's best BM25 score, plus CLASSIFIER x the log-probability the knowledge base's
question classifier gives the article (knowledge_base.question_classifier; only when one
fits the index). The weights were chosen on held-out TRAIN rows of BANKING77 (rows
K+1..K+8 of each category, never test.csv): see docs/knowledge_base.md.

The rank score is not the score the bot thresholds on: `calibrated` stays the best chunk's
cosine similarity, so kb_answer_threshold / kb_clarify_threshold keep their meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TOP_M = 3
ALPHA = 1.0
BETA = 0.05
CLASSIFIER = 2.0


@dataclass
class ArticleEvidence:
    best_cosine: float = -1.0
    best_chunk: int = -1  # chunk id of the best dense match
    cosines: list[float] = field(default_factory=list)
    best_bm25: float = 0.0
    best_bm25_chunk: int = -1


@dataclass(frozen=True)
class Weights:
    top_m: int = TOP_M
    alpha: float = ALPHA
    beta: float = BETA
    classifier: float = CLASSIFIER


def gather(dense: list[tuple[int, int, float]], lexical: list[tuple[int, int, float]]
           ) -> dict[int, ArticleEvidence]:
    """dense and lexical are (article id, chunk id, score) triples."""
    evidence: dict[int, ArticleEvidence] = {}
    for article_id, chunk, score in dense:
        ev = evidence.setdefault(article_id, ArticleEvidence())
        ev.cosines.append(score)
        if score > ev.best_cosine:
            ev.best_cosine, ev.best_chunk = score, chunk
    for article_id, chunk, score in lexical:
        ev = evidence.setdefault(article_id, ArticleEvidence())
        if score > ev.best_bm25:
            ev.best_bm25, ev.best_bm25_chunk = score, chunk
    return evidence


def fuse(evidence: dict[int, ArticleEvidence], weights: Weights = Weights(),
         log_proba: Mapping[int, float] | None = None) -> list[tuple[int, float]]:
    """(article id, rank score), best first. `log_proba`: the question classifier's
    log-probability per article, when a classifier fits the index."""
    top_bm25 = max((ev.best_bm25 for ev in evidence.values()), default=0.0)
    prior = log_proba if log_proba and weights.classifier else None
    # An article the classifier does not know counts as its least likely one (a fitting
    # classifier knows every indexed article; this only guards the mapping).
    floor = min(prior.values()) if prior else 0.0
    ranked = []
    for article_id, ev in evidence.items():
        if not ev.cosines:
            continue  # lexical-only: no dense evidence to calibrate a score on
        best = sorted(ev.cosines, reverse=True)[:weights.top_m]
        score = ev.best_cosine + weights.alpha * sum(best) / len(best)
        if top_bm25 > 0:
            score += weights.beta * ev.best_bm25 / top_bm25
        if prior:
            score += weights.classifier * prior.get(article_id, floor)
        ranked.append((article_id, score))
    ranked.sort(key=lambda pair: pair[1], reverse=True)
    return ranked
