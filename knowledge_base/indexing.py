"""Build the search index from the published articles in the database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import get_settings
from knowledge_base.chunking import chunk_article
from knowledge_base.index import FORMAT_VERSION, IndexEntry, Manifest, VectorIndex
from knowledge_base.models import Article, ArticleStatus
from nlu.encoders import SentenceEncoder, get_encoder


def published_articles(session: Session) -> list[Article]:
    return list(
        session.scalars(
            select(Article).where(Article.status == ArticleStatus.PUBLISHED).order_by(Article.id)
        )
    )


def fingerprint(articles: list[Article], model: str) -> str:
    """Changes whenever the answerable content changes."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}|{model}".encode())
    for a in articles:
        digest.update(json.dumps(
            [a.id, a.slug, a.title, a.body, a.category, a.locale, a.alternative_questions],
            sort_keys=True).encode())
    return digest.hexdigest()


def build_index(
    articles: list[Article], encoder: SentenceEncoder, max_chars: int
) -> VectorIndex:
    entries: list[IndexEntry] = []
    for article in articles:
        for chunk in chunk_article(
            article.title, article.body, list(article.alternative_questions), max_chars
        ):
            entries.append(IndexEntry(
                article_id=article.id, slug=article.slug, title=article.title,
                category=article.category, locale=article.locale, kind=chunk.kind,
                text=chunk.text, display=chunk.display,
            ))
    vectors = encoder.encode([e.text for e in entries])
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=encoder.name,
        dimension=encoder.dimension,
        count=len(entries),
        fingerprint=fingerprint(articles, encoder.name),
        built_at=datetime.now(UTC).isoformat(),
    )
    return VectorIndex.build(vectors, entries, manifest)


def rebuild_index(session: Session) -> Manifest:
    settings = get_settings()
    index = build_index(published_articles(session), get_encoder(), settings.kb_chunk_max_chars)
    index.save(settings.index_dir)
    return index.manifest


def index_is_current(session: Session) -> bool:
    from knowledge_base.retrieval import get_index_holder

    index = get_index_holder().get()
    if index is None:
        return False
    return index.manifest.fingerprint == fingerprint(
        published_articles(session), index.manifest.model
    )
