"""`tandem kb evaluate`: build a throw-away index from an articles file and score a queries
file. Articles: JSONL with id, title, body, alternative_questions (optional category,
locale). Queries: CSV with columns text, article_id. Reports Recall@1, Recall@3, MRR@10
and query latency (encoding included), with the question classifier trained on the
throw-away index as the product trains it (knowledge_base.question_classifier), and the
same metrics for the fused ranking alone."""

from __future__ import annotations

import csv
import itertools
import json
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ValidationFailed
from knowledge_base import question_classifier, ranking
from knowledge_base.index import FORMAT_VERSION, IndexEntry, Manifest, VectorIndex
from knowledge_base.indexing import article_entries
from knowledge_base.lexical import LexicalIndex
from knowledge_base.models import Article, ArticleStatus
from knowledge_base.question_classifier import QuestionClassifier
from knowledge_base.retrieval import candidates, search_index
from nlu.encoders import get_encoder

MRR_DEPTH = 10
# The grid `--tune` searches (on a development queries file, never the test file).
GRID_TOP_M = (1, 2, 3, 5)
GRID_ALPHA = (0.0, 0.5, 1.0, 2.0)
GRID_BETA = (0.0, 0.05, 0.1, 0.2)
GRID_CLASSIFIER = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # 0: the classifier is not used


@dataclass(frozen=True)
class Report:
    articles: int
    chunks: int
    queries: int
    recall_at_1: float
    recall_at_3: float
    mrr_at_10: float
    p50_ms: float
    p95_ms: float
    index_s: float
    weights: dict[str, float]
    # Recall@1, Recall@3, MRR@10 of the fused ranking alone (same fusion weights, no
    # classifier), and the classifier's manifest (C, cross-validated accuracy, ...).
    without_classifier: dict[str, float] | None = None
    classifier: dict[str, Any] | None = None


def load_articles(path: Path) -> tuple[list[Article], dict[str, int]]:
    """Transient Article rows (never added to a session) and external id → internal id."""
    articles: list[Article] = []
    ids: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            external = str(raw["id"])
            title = str(raw["title"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValidationFailed(f"{path.name} line {number}: needs JSON with id and title "
                                   f"({exc})", field="articles") from exc
        if external in ids:
            raise ValidationFailed(f"{path.name} line {number}: duplicate id {external}",
                                   field="articles")
        ids[external] = len(ids) + 1
        articles.append(Article(
            id=ids[external], slug=external, title=title, body=str(raw.get("body") or ""),
            category=str(raw.get("category") or "general"), locale=str(raw.get("locale") or "en"),
            alternative_questions=[str(q) for q in raw.get("alternative_questions") or []],
            status=ArticleStatus.PUBLISHED))
    return articles, ids


def load_queries(path: Path, ids: dict[str, int]) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"text", "article_id"} <= set(reader.fieldnames or []):
            raise ValidationFailed(f"{path.name}: needs columns text, article_id",
                                   field="queries")
        queries = []
        for row in reader:
            if row["article_id"] not in ids:
                raise ValidationFailed(f"{path.name} line {reader.line_num}: unknown article "
                                       f"{row['article_id']}", field="queries")
            queries.append((row["text"], ids[row["article_id"]]))
    return queries


def build(articles: list[Article], max_chars: int = 600,
          approximate_above: int = 1 << 62) -> tuple[VectorIndex, LexicalIndex, float]:
    encoder = get_encoder()
    started = time.perf_counter()
    entries: list[IndexEntry] = [e for a in articles for e in article_entries(a, max_chars)]
    vectors = encoder.encode([e.text for e in entries])
    manifest = Manifest(FORMAT_VERSION, encoder.name, encoder.dimension, len(entries),
                        "evaluation", datetime.now(UTC).isoformat())
    index = VectorIndex.build(vectors, entries, manifest, approximate_above=approximate_above)
    lexical = LexicalIndex(list(index.entries), [e.text for e in index.entries.values()])
    return index, lexical, time.perf_counter() - started


def _ranks(rankings: list[list[int]], gold: list[int]) -> np.ndarray:
    ranks = []
    for ranked, answer in zip(rankings, gold, strict=True):
        ranks.append(ranked.index(answer) if answer in ranked else 10**6)
    return np.array(ranks)


def _metrics(ranks: np.ndarray) -> tuple[float, float, float]:
    mrr = np.where(ranks < MRR_DEPTH, 1.0 / (ranks + 1), 0.0)
    return float((ranks < 1).mean()), float((ranks < 3).mean()), float(mrr.mean())


def _rankings(index: VectorIndex, lexical: LexicalIndex, queries: list[tuple[str, int]],
              classifier: QuestionClassifier | None
              ) -> tuple[list[Any], list[dict[int, float] | None]]:
    """Per query: its (dense, lexical) candidates and the classifier's log-probabilities."""
    vectors = get_encoder().encode([q for q, _ in queries])
    cands = [candidates(index, lexical, v, q) for v, (q, _) in zip(vectors, queries, strict=True)]
    if classifier is None:
        return cands, [None] * len(queries)
    ids = classifier.article_ids.tolist()
    priors: list[dict[int, float] | None] = [
        dict(zip(ids, row.tolist(), strict=True)) for row in classifier.log_proba(vectors)]
    return cands, priors


def _score(cands: list[Any], priors: list[dict[int, float] | None], gold: list[int],
           weights: ranking.Weights) -> tuple[float, float, float]:
    rankings = [[a for a, _ in ranking.fuse(ranking.gather(d, lx), weights, prior)]
                for (d, lx), prior in zip(cands, priors, strict=True)]
    return _metrics(_ranks(rankings, gold))


def tune(index: VectorIndex, lexical: LexicalIndex, queries: list[tuple[str, int]],
         classifier: QuestionClassifier | None = None) -> ranking.Weights:
    """Grid-search the fusion weights for the best Recall@1 (then MRR) on these queries;
    then, with those fixed, the classifier's weight (the fused ranking + w x its
    log-probability), when there is a classifier."""
    cands, priors = _rankings(index, lexical, queries, classifier)
    gold = [g for _, g in queries]

    def best_of(grid: list[ranking.Weights]) -> ranking.Weights:
        scored = [(_score(cands, priors, gold, w), w) for w in grid]
        return max(scored, key=lambda pair: (pair[0][0], pair[0][2]))[1]

    fused = best_of([ranking.Weights(top_m, alpha, beta, 0.0) for top_m, alpha, beta
                     in itertools.product(GRID_TOP_M, GRID_ALPHA, GRID_BETA)])
    if classifier is None:
        return fused
    return best_of([replace(fused, classifier=w) for w in GRID_CLASSIFIER])


def evaluate(articles_path: Path, queries_path: Path, tune_path: Path | None = None,
             weights: ranking.Weights | None = None, *,
             classifier: bool = True) -> Report:
    articles, ids = load_articles(articles_path)
    queries = load_queries(queries_path, ids)
    index, lexical, index_s = build(articles)
    trained = question_classifier.train(index) if classifier and len(articles) > 1 else None
    if tune_path is not None:
        weights = tune(index, lexical, load_queries(tune_path, ids), trained)
    weights = weights or ranking.Weights()
    get_encoder().encode_one("warm up")
    rankings: list[list[int]] = []
    latencies: list[float] = []
    for text, _ in queries:
        started = time.perf_counter()
        hits = search_index(index, lexical, text, k=MRR_DEPTH, weights=weights,
                            classifier=trained)
        latencies.append((time.perf_counter() - started) * 1000)
        rankings.append([h.article_id for h in hits])
    gold = [g for _, g in queries]
    r1, r3, mrr = _metrics(_ranks(rankings, gold))
    alone = None
    if trained is not None:
        cands, _ = _rankings(index, lexical, queries, None)
        a1, a3, amrr = _score(cands, [None] * len(queries), gold, weights)
        alone = {"recall_at_1": round(a1, 4), "recall_at_3": round(a3, 4),
                 "mrr_at_10": round(amrr, 4)}
    return Report(
        articles=len(articles), chunks=index.size, queries=len(queries),
        recall_at_1=round(r1, 4), recall_at_3=round(r3, 4), mrr_at_10=round(mrr, 4),
        p50_ms=round(float(np.percentile(latencies, 50)), 2),
        p95_ms=round(float(np.percentile(latencies, 95)), 2),
        index_s=round(index_s, 2), weights=asdict(weights), without_classifier=alone,
        classifier=asdict(trained.manifest) if trained is not None else None)


def report_dict(report: Report) -> dict[str, Any]:
    return asdict(report)
