"""Build and maintain the search indexes from the published articles in the database:
full rebuilds (`tandem kb reindex`), incremental per-article updates (publish / archive),
and a drift check between the indexes and the database (`tandem kb check`).

There is one index per encoder the configured languages need (Settings.encoders): every
article in every locale is in each, so a Chinese question can find an English article when
no Chinese one answers it. The English encoder's index is the primary one (the question
classifier, the health check and the editors' tools read it)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import get_settings
from knowledge_base.chunking import chunk_article
from knowledge_base.index import (
    FORMAT_VERSION,
    IndexEntry,
    Manifest,
    VectorIndex,
    chunk_id,
    write_lock,
)
from knowledge_base.models import Article, ArticleStatus
from nlu import language
from nlu.encoders import ENGLISH_ONLY, Encoder, get_encoder

REBUILD_ABOVE_DRIFT = 50


def published_articles(session: Session) -> list[Article]:
    return list(
        session.scalars(
            select(Article).where(Article.status == ArticleStatus.PUBLISHED).order_by(Article.id)
        )
    )


def _article_digest(a: Article) -> str:
    return json.dumps(
        [a.id, a.slug, a.title, a.body, a.category, a.locale, a.alternative_questions,
         a.group],
        sort_keys=True)


def for_index(articles: list[Article], encoder: str) -> list[Article]:
    """The articles an encoder's index holds: an English-only encoder's only the English ones
    (it cannot read the others, and their questions would skew the question classifier);
    a multilingual encoder's all, so a question can find an article in another language."""
    if encoder not in ENGLISH_ONLY:
        return articles
    return [a for a in articles if language.base(a.locale) == "en"]


def fingerprint(articles: list[Article], model: str) -> str:
    """Changes whenever the answerable content changes."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}|{model}".encode())
    for a in sorted(articles, key=lambda a: a.id):
        digest.update(_article_digest(a).encode())
    return digest.hexdigest()


def article_entries(article: Article, max_chars: int) -> list[IndexEntry]:
    return [
        IndexEntry(
            article_id=article.id, slug=article.slug, title=article.title,
            category=article.category, locale=article.locale, kind=chunk.kind,
            text=chunk.text, display=chunk.display, id=chunk_id(article.id, n),
            group=article.group,
        )
        for n, chunk in enumerate(chunk_article(
            article.title, article.body, list(article.alternative_questions), max_chars))
    ]


def encode_entries(encoder: Encoder, entries: list[IndexEntry]) -> npt.NDArray[np.float32]:
    """Passages as E5 passages; titles and questions as queries (they are matched against
    customer questions phrased the same way)."""
    vectors = np.zeros((len(entries), encoder.dimension), dtype=np.float32)
    for role in ("query", "passage"):
        rows = [n for n, e in enumerate(entries) if (e.kind == "passage") == (role == "passage")]
        if rows:
            vectors[rows] = encoder.encode([entries[n].text for n in rows], role=role)
    return vectors


def build_index(
    articles: list[Article], encoder: Encoder, max_chars: int
) -> VectorIndex:
    settings = get_settings()
    entries = [e for article in articles for e in article_entries(article, max_chars)]
    vectors = encode_entries(encoder, entries)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=encoder.name,
        dimension=encoder.dimension,
        count=len(entries),
        fingerprint=fingerprint(articles, encoder.name),
        built_at=datetime.now(UTC).isoformat(),
    )
    return VectorIndex.build(vectors, entries, manifest,
                             approximate_above=settings.kb_approximate_above_chunks,
                             nprobe=settings.kb_ivf_nprobe)


def rebuild_index(session: Session) -> Manifest:
    """Rebuild every index; returns the primary one's manifest."""
    settings = get_settings()
    articles = published_articles(session)
    manifests = []
    for name in settings.encoders:
        directory = settings.index_dir_for(name)
        with write_lock(directory):
            index = build_index(for_index(articles, name), get_encoder(name),
                                settings.kb_chunk_max_chars)
            index.save(directory)
        manifests.append(index.manifest)
    return manifests[0]


def _load_current(encoder: str | None = None) -> VectorIndex | None:
    settings = get_settings()
    name = encoder or settings.embedding_model
    try:
        index = VectorIndex.load(settings.index_dir_for(name))
    except (FileNotFoundError, ValueError):
        return None  # no index yet, or an old format: only a full rebuild can help
    if index.manifest.model != get_encoder(name).name:
        return None  # built by another encoder (the setting changed): rebuild it
    return index


def sync_article(session: Session, article_id: int) -> str:
    """Bring one article's chunks in every index in line with the database: add or replace
    them if it is published, remove them otherwise. Re-encodes only this article."""
    settings = get_settings()
    outcomes = [_sync_one(session, article_id, name) for name in settings.encoders]
    return "; ".join(dict.fromkeys(outcomes))


def _sync_one(session: Session, article_id: int, name: str) -> str:
    settings = get_settings()
    encoder = get_encoder(name)
    directory = settings.index_dir_for(name)
    with write_lock(directory):
        index = _load_current(name)
        if index is None:
            index = build_index(for_index(published_articles(session), name), encoder,
                                settings.kb_chunk_max_chars)
            index.save(directory)
            return "rebuilt"
        article = session.get(Article, article_id)
        removed = index.remove_article(article_id)
        added = 0
        if article is not None and article.status == ArticleStatus.PUBLISHED \
                and for_index([article], name):
            entries = article_entries(article, settings.kb_chunk_max_chars)
            index.add(encode_entries(encoder, entries), entries)
            added = len(entries)
        index.set_fingerprint(
            fingerprint(for_index(published_articles(session), name), encoder.name),
            datetime.now(UTC).isoformat())
        index.save(directory)
    return f"removed {removed}, added {added}"


@dataclass(frozen=True)
class Drift:
    missing: list[int]  # published, not in the index
    stale: list[int]  # in the index, no longer published
    changed: list[int]  # in both, but the indexed chunks differ from the article's
    index_present: bool
    # False when the entries are current but the manifest is not: a save killed between
    # its renames. Readers reload on a new manifest, so they would keep the old index.
    manifest_current: bool = True

    @property
    def clean(self) -> bool:
        return self.index_present and self.manifest_current and not (
            self.missing or self.stale or self.changed)


def check(session: Session) -> Drift:
    """Drift of the primary index, or of another encoder's index when that one is missing
    or built by another encoder (then it needs a rebuild too)."""
    settings = get_settings()
    index = _load_current()
    published = {a.id: a for a in for_index(published_articles(session),
                                              settings.embedding_model)}
    if index is None or any(_load_current(name) is None for name in settings.encoders[1:]):
        return Drift(sorted(published), [], [], index_present=False)
    indexed: dict[int, list[IndexEntry]] = {}
    for entry in index.entries.values():
        indexed.setdefault(entry.article_id, []).append(entry)
    changed = []
    for article_id in set(published) & set(indexed):
        # Whole entries, not only the text: a missed sync after a slug, category or locale
        # change leaves the text as it was.
        expected = sorted(article_entries(published[article_id], settings.kb_chunk_max_chars),
                          key=lambda e: e.id)
        if sorted(indexed[article_id], key=lambda e: e.id) != expected:
            changed.append(article_id)
    current = index.manifest.fingerprint == fingerprint(list(published.values()),
                                                        index.manifest.model)
    return Drift(missing=sorted(set(published) - set(indexed)),
                 stale=sorted(set(indexed) - set(published)),
                 changed=sorted(changed), index_present=True, manifest_current=current)


def reconcile(session: Session) -> Drift:
    """Repair drift article by article (a full rebuild when there is no index, or when so
    much drifted that one build is cheaper than many load-modify-save cycles)."""
    drift = check(session)
    if not drift.index_present or (
            len(drift.missing) + len(drift.stale) + len(drift.changed) > REBUILD_ABOVE_DRIFT):
        rebuild_index(session)
        return drift
    articles = [*drift.missing, *drift.stale, *drift.changed]
    for article_id in articles:
        sync_article(session, article_id)  # each rewrites the manifest too
    if not articles and not drift.manifest_current:
        _rewrite_manifest(session)
    return drift


def _rewrite_manifest(session: Session) -> None:
    settings = get_settings()
    for name in settings.encoders:
        directory = settings.index_dir_for(name)
        with write_lock(directory):
            index = _load_current(name)
            if index is None:
                continue
            index.set_fingerprint(
                fingerprint(for_index(published_articles(session), name),
                            index.manifest.model),
                datetime.now(UTC).isoformat())
            index.save(directory)


def index_is_current(session: Session) -> bool:
    """Every index exists, was built by its configured encoder and matches the articles."""
    published = published_articles(session)
    for name in get_settings().encoders:
        index = _load_current(name)
        if index is None or index.manifest.fingerprint != fingerprint(
                for_index(published, name), index.manifest.model):
            return False
    return True
