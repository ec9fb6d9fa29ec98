"""Find the articles that answer a query: dense search over chunks, best chunk per article."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.settings import get_settings
from knowledge_base.index import IndexHolder
from nlu.encoders import get_encoder

CANDIDATE_CHUNKS = 50


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    slug: str
    title: str
    category: str
    score: float
    passage: str  # the best-matching passage, ready to show
    matched_on: str  # title, question or passage
    matched_text: str


@lru_cache
def get_index_holder() -> IndexHolder:
    return IndexHolder(get_settings().index_dir)


def search(query: str, *, k: int = 3, locale: str | None = None) -> list[ArticleHit]:
    index = get_index_holder().get()
    if index is None or not query.strip():
        return []
    vector = get_encoder().encode_one(query)
    best: dict[int, ArticleHit] = {}
    for entry, score in index.search(vector, CANDIDATE_CHUNKS):
        if locale and entry.locale != locale:
            continue
        if entry.article_id in best and best[entry.article_id].score >= score:
            continue
        best[entry.article_id] = ArticleHit(
            article_id=entry.article_id, slug=entry.slug, title=entry.title,
            category=entry.category, score=score, passage=entry.display,
            matched_on=entry.kind, matched_text=entry.text,
        )
    return sorted(best.values(), key=lambda h: h.score, reverse=True)[:k]
