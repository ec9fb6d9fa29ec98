"""Article records and the Markdown-with-front-matter format used for the demo set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.errors import NotFound, ValidationFailed
from core.tasks import enqueue_after_commit
from knowledge_base import service
from knowledge_base.models import Article, ArticleStatus

DEMO_ARTICLES_DIR = Path(__file__).parent / "demo_articles"


def parse_markdown_article(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise ValidationFailed(f"{path.name}: missing front matter", field="front_matter")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front) or {}
    for key in ("title", "category"):
        if not meta.get(key):
            raise ValidationFailed(f"{path.name}: front matter lacks '{key}'", field=key)
    return {
        "slug": meta.get("slug") or path.stem,
        "title": meta["title"],
        "category": meta["category"],
        "tags": list(meta.get("tags") or []),
        "locale": meta.get("locale") or "en",
        "translation_group": meta.get("translation_group") or None,
        "alternative_questions": list(meta.get("alternative_questions") or []),
        "body": body.strip(),
    }


def upsert_published(session: Session, data: dict[str, Any]) -> Article:
    article = session.scalar(select(Article).where(Article.slug == data["slug"]))
    if article is None:
        article = Article(slug=data["slug"], created_at=utcnow())
        session.add(article)
    elif all(getattr(article, k) == v for k, v in data.items()) and (
        article.status == ArticleStatus.PUBLISHED
    ):
        return article
    else:
        article.version += 1
    for key, value in data.items():
        setattr(article, key, value)
    article.status = ArticleStatus.PUBLISHED
    article.updated_at = utcnow()
    session.flush()
    service.snapshot(session, article, None, "loaded from file")
    _schedule_reindex(session)
    return article


def load_demo_articles(session: Session) -> int:
    """English articles at the top, their translations in a folder per locale (zh-CN/)."""
    paths = sorted(DEMO_ARTICLES_DIR.rglob("*.md"))
    for path in paths:
        upsert_published(session, parse_markdown_article(path))
    return len(paths)


def get_published_by_slug(session: Session, slug: str) -> Article:
    article = session.scalar(
        select(Article).where(Article.slug == slug, Article.status == ArticleStatus.PUBLISHED)
    )
    if article is None:
        raise NotFound(f"article '{slug}' does not exist", field="slug")
    return article


def list_published(session: Session, category: str | None = None) -> list[Article]:
    query = select(Article).where(Article.status == ArticleStatus.PUBLISHED)
    if category:
        query = query.where(Article.category == category)
    return list(session.scalars(query.order_by(Article.category, Article.title)))


def list_published_by_slugs(session: Session, slugs: list[str]) -> list[Article]:
    """Related articles a customer may see: published ones only, in the given order."""
    if not slugs:
        return []
    found = {a.slug: a for a in session.scalars(select(Article).where(
        Article.slug.in_(slugs), Article.status == ArticleStatus.PUBLISHED))}
    return [found[s] for s in slugs if s in found]


def _schedule_reindex(session: Session) -> None:
    from knowledge_base.tasks import rebuild_index_task

    enqueue_after_commit(session, rebuild_index_task)
