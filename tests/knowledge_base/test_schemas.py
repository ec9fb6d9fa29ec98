"""The knowledge base's response models send what the editor pages and the help centre's
clients read: the same field names, ISO 8601 times and scores rounded to 4 places."""

from __future__ import annotations

from datetime import UTC, datetime

from knowledge_base.gaps import GapCluster
from knowledge_base.models import Article, ArticleVersion
from knowledge_base.retrieval import ArticleHit
from knowledge_base.schemas import (
    HelpArticle,
    HelpSearchHit,
    KbArticle,
    KbArticleVersion,
    KbGapCluster,
    KbSearchHit,
)

WHEN = datetime(2024, 5, 1, 12, 30, 1, 123456, tzinfo=UTC)


def _article() -> Article:
    return Article(id=3, slug="gift-wrapping", title="Gift wrapping", body="3 EUR.",
                   category="orders", tags=["gifts"], locale="en",
                   alternative_questions=["can you wrap it"], related_slugs=None,
                   status="in_review", version=2, origin="agent", owner_id=None,
                   last_editor_id=7, created_at=WHEN, updated_at=WHEN)


def test_an_editor_article_on_the_wire() -> None:
    assert KbArticle.from_row(_article()).model_dump(mode="json") == {
        "id": 3, "slug": "gift-wrapping", "title": "Gift wrapping", "body": "3 EUR.",
        "category": "orders", "tags": ["gifts"], "locale": "en", "translation_group": None,
        "alternative_questions": ["can you wrap it"], "related_slugs": [],
        "status": "in_review", "version": 2, "origin": "agent", "owner_id": None,
        "last_editor_id": 7, "created_at": WHEN.isoformat(), "updated_at": WHEN.isoformat()}


def test_a_published_article_and_a_version_on_the_wire() -> None:
    assert HelpArticle.from_row(_article()).model_dump(mode="json") == {
        "id": 3, "slug": "gift-wrapping", "title": "Gift wrapping", "category": "orders",
        "tags": ["gifts"], "locale": "en", "translation_group": "gift-wrapping",
        "alternative_questions": ["can you wrap it"], "body": "3 EUR.",
        "url": "/help/articles/gift-wrapping", "version": 2,
        "updated_at": WHEN.isoformat()}
    version = ArticleVersion(version=2, title="Gift wrapping", status="published",
                             editor_id=None, note="edited", created_at=WHEN)
    assert KbArticleVersion.from_row(version).model_dump(mode="json") == {
        "version": 2, "title": "Gift wrapping", "status": "published", "editor_id": None,
        "note": "edited", "created_at": WHEN.isoformat()}


def test_search_hits_and_gap_clusters_on_the_wire() -> None:
    hit = ArticleHit(article_id=1, slug="gift-wrapping", title="Gift wrapping",
                     category="orders", score=0.123456, passage="3 EUR.", matched_on="title",
                     matched_text="Gift wrapping", rank_score=0.987654)
    assert HelpSearchHit.of(hit).model_dump(mode="json") == {
        "article_id": 1, "slug": "gift-wrapping", "title": "Gift wrapping",
        "category": "orders", "score": 0.1235, "passage": "3 EUR.", "matched_on": "title",
        "why": hit.why, "url": "/help/articles/gift-wrapping"}
    assert KbSearchHit.of(hit).model_dump(mode="json") == {
        "article_id": 1, "slug": "gift-wrapping", "title": "Gift wrapping", "score": 0.1235,
        "rank_score": 0.9877, "passage": "3 EUR.", "matched_on": "title", "why": hit.why}
    cluster = GapCluster(size=2, gap_ids=[4, 5], examples=["wrap?"], queries=["wrap?", "Wrap"],
                         reasons={"handed_off": 2})
    assert KbGapCluster.of(cluster).model_dump(mode="json") == {
        "size": 2, "examples": ["wrap?"], "gap_ids": [4, 5], "reasons": {"handed_off": 2},
        "queries": ["wrap?", "Wrap"]}
