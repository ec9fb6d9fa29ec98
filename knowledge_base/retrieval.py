"""Find the articles that answer a query: hybrid dense (FAISS) + lexical (BM25) search
over chunks, fused per article (knowledge_base.ranking) together with the knowledge base's
question classifier when one fits the index, with filters and the reason a result
matched."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.settings import get_settings
from knowledge_base import ranking
from knowledge_base.index import IndexEntry, IndexHolder, VectorIndex
from knowledge_base.lexical import LexicalIndex
from knowledge_base.question_classifier import ClassifierHolder, QuestionClassifier
from nlu.encoders import ENGLISH_ONLY, Encoder, Vectors, get_encoder
from nlu.language import segment

log = logging.getLogger(__name__)
CANDIDATE_CHUNKS = 100
FILTERED_CANDIDATE_CHUNKS = 1000
DEFAULT_WEIGHTS = ranking.Weights()


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    slug: str
    title: str
    category: str
    score: float  # calibrated: cosine similarity of the best chunk, in [0, 1] in practice
    passage: str  # the best-matching passage, ready to show
    matched_on: str  # title, question or passage
    matched_text: str
    rank_score: float = 0.0  # the fused score results are ordered by
    lexical_terms: tuple[str, ...] = ()  # query words also found in the article's best chunk
    locale: str = "en"
    group: str = ""  # the article's translation group

    @property
    def why(self) -> str:
        reason = f"similar to its {self.matched_on}: “{self.matched_text[:120]}”"
        if self.lexical_terms:
            reason += f"; shares the words {', '.join(self.lexical_terms)}"
        return reason


@lru_cache
def _holder(directory: Path) -> IndexHolder:
    return IndexHolder(directory)


def get_index_holder(encoder: str | None = None) -> IndexHolder:
    """The loaded index of an encoder (default: the English one, the primary index)."""
    settings = get_settings()
    return _holder(settings.index_dir_for(encoder or settings.embedding_model))


@lru_cache
def _classifier_holder(directory: Path) -> ClassifierHolder:
    return ClassifierHolder(directory)


def classifier_for(index: VectorIndex, directory: Path) -> QuestionClassifier | None:
    """The stored classifier, only if it was trained for exactly this index: a stale one
    could favour an article that is gone or has changed, so it is not used at all."""
    if not get_settings().kb_classifier_enabled:
        return None
    classifier = _classifier_holder(directory).get()
    if classifier is None or not classifier.fits(index):
        return None
    return classifier


_lexical_lock = threading.Lock()
_lexical_cache: list[tuple[VectorIndex, LexicalIndex]] = []


def lexical_for(index: VectorIndex) -> LexicalIndex:
    """The BM25 index of this loaded vector index (built once per loaded index)."""
    with _lexical_lock:
        if not _lexical_cache or _lexical_cache[0][0] is not index:
            ids = list(index.entries)
            # Only the current index is ever searched: keep one.
            _lexical_cache[:] = [(index, LexicalIndex(ids, [index.entries[i].text for i in ids]))]
        return _lexical_cache[0][1]


_PUNCTUATION = re.compile(r"^\W+|\W+$")


def _words(text: str) -> set[str]:
    """Words worth naming in "why it matched": Latin ones of three letters or more, and
    Chinese words (jieba's)."""
    words = (_PUNCTUATION.sub("", w).lower() for w in segment(text).split())
    return {w for w in words if len(w) > 2 or (w and not w.isascii())}


def candidates(
    index: VectorIndex, lexical: LexicalIndex, vector: Vectors, query: str, *,
    locale: str | None = None, category: str | None = None,
) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]]:
    """Dense and lexical (article id, chunk id, score) candidates that pass the filters."""
    filtered = bool(locale or category)
    n = FILTERED_CANDIDATE_CHUNKS if filtered else CANDIDATE_CHUNKS

    def keep(entry: IndexEntry) -> bool:
        return (not locale or entry.locale == locale) and (
            not category or entry.category == category)

    dense = [(e.article_id, e.id, s) for e, s in index.search(vector, n) if keep(e)]
    lexical_hits = []
    for chunk, score in lexical.search(query, n):
        entry = index.entries.get(chunk)
        if entry is not None and keep(entry):
            lexical_hits.append((entry.article_id, chunk, score))
    return dense, lexical_hits


def search_index(
    index: VectorIndex, lexical: LexicalIndex, query: str, *, k: int = 3,
    locale: str | None = None, category: str | None = None,
    weights: ranking.Weights = DEFAULT_WEIGHTS,
    classifier: QuestionClassifier | None = None, vector: Vectors | None = None,
    encoder: Encoder | None = None,
) -> list[ArticleHit]:
    if not query.strip():
        return []
    if vector is None:
        vector = (encoder or get_encoder()).encode_one(query)
    dense, lexical_hits = candidates(index, lexical, vector, query, locale=locale,
                                     category=category)
    evidence = ranking.gather(dense, lexical_hits)
    log_proba = classifier.article_log_proba(vector) if classifier is not None else None
    query_words = _words(query)
    hits = []
    for article_id, rank_score in ranking.fuse(evidence, weights, log_proba)[:k]:
        ev = evidence[article_id]
        entry = index.entries[ev.best_chunk]
        shared = sorted(query_words & _words(entry.text))
        hits.append(ArticleHit(
            article_id=article_id, slug=entry.slug, title=entry.title,
            category=entry.category, score=ev.best_cosine, passage=entry.display,
            matched_on=entry.kind, matched_text=entry.text, rank_score=rank_score,
            lexical_terms=tuple(shared[:5]), locale=entry.locale, group=entry.group,
        ))
    return hits


def search(query: str, *, k: int = 3, locale: str | None = None,
           category: str | None = None, vector: Vectors | None = None,
           language: str | None = None, fallback_below: float | None = None,
           ) -> list[ArticleHit]:
    """Published articles only: nothing else is ever indexed.

    `locale` keeps only articles in that locale (the editors' filter). `language` is the
    customer's: the index of the encoder for that language is searched, its articles come
    first, and articles in other languages are offered only when none of its own scores
    `fallback_below` or more and one of theirs scores higher (a Chinese question that only
    an English article answers gets the English article). `vector`: the query's embedding
    by that encoder when the caller has it already (the pipeline embeds each message once).
    """
    settings = get_settings()
    name = settings.encoder_for(language)
    holder = get_index_holder(name)
    try:
        index = holder.get()
    except (ValueError, OSError):
        # An index from an older format (or a damaged one): answer nothing, so the bot
        # hands off, until the periodic reconcile (or `tandem kb reindex`) rebuilds it.
        log.exception("knowledge-base index cannot be loaded; run `tandem kb reindex`")
        return []
    encoder = get_encoder(name)
    if index is None or index.manifest.model != encoder.name:
        if index is not None:
            log.error("the %s index was built by %s; run `tandem kb reindex`", name,
                      index.manifest.model)
        return []
    if vector is None and query.strip():
        vector = encoder.encode_one(query)
    classifier = (classifier_for(index, holder.directory)
                  if name == settings.embedding_model else None)

    def run(only: str | None) -> list[ArticleHit]:
        return search_index(index, lexical_for(index), query, k=k, locale=only,
                            category=category, classifier=classifier, vector=vector,
                            encoder=encoder)

    if locale or not language:
        return run(locale)
    if name in ENGLISH_ONLY:
        # Its scores for another language's text mean nothing (and an English speaker is
        # not helped by a Chinese article): the customer's own articles only.
        return run(language)
    return in_language(run, language, fallback_below)


def in_language(run: Callable[[str | None], list[ArticleHit]], language: str,
                fallback_below: float | None) -> list[ArticleHit]:
    """The hits of `run` (a search limited to one locale, or to none) for a customer writing
    in `language`: theirs, unless none reaches `fallback_below` and the best hit in any
    language scores higher than their best."""
    own = run(language)
    best_own = own[0].score if own else -1.0
    if fallback_below is not None and best_own >= fallback_below:
        return own
    anywhere = run(None)
    if anywhere and anywhere[0].locale != language and anywhere[0].score > best_own:
        return anywhere
    return own
