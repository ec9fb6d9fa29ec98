"""Response bodies of the help centre API and the editors' API: Pydantic models built from
the database rows and the retrieval and gap-clustering results. Times are ISO 8601 strings as
`datetime.isoformat` writes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from core.schemas import Timestamp
from knowledge_base.models import (
    Article,
    ArticleOrigin,
    ArticleRating,
    ArticleStatus,
    ArticleVersion,
)

if TYPE_CHECKING:
    from knowledge_base.gaps import GapCluster
    from knowledge_base.retrieval import ArticleHit
    from knowledge_base.transfer import ImportResult

SCORE_DECIMALS = 4


def help_url(slug: str) -> str:
    """Where the help centre shows a published article."""
    return f"/help/articles/{slug}"


class HelpArticle(BaseModel):
    """A published article as customers (and the bot's clients) see it."""

    id: int
    slug: str
    title: str
    category: str
    tags: list[str]
    locale: str
    translation_group: str = Field(
        description="Shared by the same article in other locales (the original's slug)")
    alternative_questions: list[str] = Field(
        description="Other ways customers ask the question the article answers")
    body: str = Field(description="Markdown")
    url: str = Field(description="The article's page in the help centre")
    version: int
    updated_at: Timestamp

    @classmethod
    def from_row(cls, article: Article) -> HelpArticle:
        return cls(id=article.id, slug=article.slug, title=article.title,
                   category=article.category, tags=list(article.tags), locale=article.locale,
                   translation_group=article.group,
                   alternative_questions=list(article.alternative_questions),
                   body=article.body, url=help_url(article.slug), version=article.version,
                   updated_at=article.updated_at)


class HelpSearchHit(BaseModel):
    """One published article found for a question, best first."""

    article_id: int
    slug: str
    title: str
    category: str
    score: float = Field(description="Calibrated similarity of the best chunk, about 0 to 1")
    passage: str = Field(description="The best-matching passage, ready to show")
    matched_on: str = Field(description="title, question or passage")
    why: str = Field(description="Why it was found, for people")
    url: str = Field(description="The article's page in the help centre")

    @classmethod
    def of(cls, hit: ArticleHit) -> HelpSearchHit:
        return cls(article_id=hit.article_id, slug=hit.slug, title=hit.title,
                   category=hit.category, score=round(hit.score, SCORE_DECIMALS),
                   passage=hit.passage, matched_on=hit.matched_on, why=hit.why,
                   url=help_url(hit.slug))


class AnswerRatingOut(BaseModel):
    """A customer's helpful / not helpful on a bot answer, as recorded."""

    id: int
    helpful: bool
    article_id: int | None
    comment: str | None

    @classmethod
    def from_row(cls, rating: ArticleRating) -> AnswerRatingOut:
        return cls(id=rating.id, helpful=rating.helpful, article_id=rating.article_id,
                   comment=rating.comment)


class KbArticle(BaseModel):
    """An article in any status, as editors see it."""

    id: int
    slug: str
    title: str
    body: str = Field(description="Markdown")
    category: str
    tags: list[str]
    locale: str
    translation_group: str | None = Field(
        description="The slug of the article this one translates; null: its own group")
    alternative_questions: list[str]
    related_slugs: list[str]
    status: ArticleStatus
    version: int = Field(description="Send it back when saving (optimistic locking)")
    origin: ArticleOrigin
    owner_id: int | None
    last_editor_id: int | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_row(cls, article: Article) -> KbArticle:
        return cls(id=article.id, slug=article.slug, title=article.title, body=article.body,
                   category=article.category, tags=list(article.tags), locale=article.locale,
                   translation_group=article.translation_group,
                   alternative_questions=list(article.alternative_questions),
                   related_slugs=list(article.related_slugs or []),
                   status=ArticleStatus(article.status), version=article.version,
                   origin=ArticleOrigin(article.origin), owner_id=article.owner_id,
                   last_editor_id=article.last_editor_id, created_at=article.created_at,
                   updated_at=article.updated_at)


class KbArticleVersion(BaseModel):
    """One entry of an article's version history."""

    version: int
    title: str
    status: ArticleStatus
    editor_id: int | None
    note: str = Field(description="What the save did, e.g. `edited` or `draft → published`")
    created_at: Timestamp

    @classmethod
    def from_row(cls, version: ArticleVersion) -> KbArticleVersion:
        return cls(version=version.version, title=version.title,
                   status=ArticleStatus(version.status), editor_id=version.editor_id,
                   note=version.note, created_at=version.created_at)


class KbSearchHit(BaseModel):
    """One result of trying the bot's retrieval, with the score results are ordered by."""

    article_id: int
    slug: str
    title: str
    score: float = Field(description="Calibrated similarity of the best chunk, about 0 to 1")
    rank_score: float = Field(description="The fused score results are ordered by")
    passage: str
    matched_on: str = Field(description="title, question or passage")
    why: str

    @classmethod
    def of(cls, hit: ArticleHit) -> KbSearchHit:
        return cls(article_id=hit.article_id, slug=hit.slug, title=hit.title,
                   score=round(hit.score, SCORE_DECIMALS),
                   rank_score=round(hit.rank_score, SCORE_DECIMALS), passage=hit.passage,
                   matched_on=hit.matched_on, why=hit.why)


class KbImportSummary(BaseModel):
    """What an import did, by article."""

    created: int
    updated: int
    unchanged: int

    @classmethod
    def of(cls, result: ImportResult) -> KbImportSummary:
        return cls(created=result.created, updated=result.updated, unchanged=result.unchanged)


class KbGapCluster(BaseModel):
    """Unanswered questions that mean the same, largest cluster first."""

    size: int
    examples: list[str] = Field(description="The most central queries first")
    gap_ids: list[int]
    reasons: dict[str, int] = Field(description="How many gaps of the cluster had each reason")
    queries: list[str] = Field(description="Distinct queries, the new article's questions")

    @classmethod
    def of(cls, cluster: GapCluster) -> KbGapCluster:
        return cls(size=cluster.size, examples=list(cluster.examples),
                   gap_ids=list(cluster.gap_ids), reasons=dict(cluster.reasons),
                   queries=list(cluster.queries))
