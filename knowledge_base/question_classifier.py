"""A per-knowledge-base article classifier: logistic regression over the index's own
title and alternative-question embeddings, whose log-probability is added to the fused
rank score (knowledge_base.ranking).

It is learned from the index's content, so it is stored next to the index
(`classifier.npz`, one file: weights and manifest together) with a digest of the index
content it was trained for. The retriever uses it only while that digest matches the
loaded index: after any publish, archive or edit the fused ranking alone answers until
the debounced retrain (knowledge_base.tasks.train_classifier_task) catches up. See
docs/knowledge_base.md, "Question classifier".
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from core.settings import get_settings
from knowledge_base.chunking import ChunkKind
from knowledge_base.index import MANIFEST_FILE, VectorIndex, write_lock
from nlu.encoders import Vectors

log = logging.getLogger(__name__)

ARTIFACT_FILE = "classifier.npz"
FORMAT_VERSION = 1
TRAINED_ON = (ChunkKind.TITLE.value, ChunkKind.QUESTION.value)
# C is chosen by cross-validation over the knowledge base's own questions. DEFAULT_C (the
# value BANKING77's development split chose) is used when an article has a single question,
# so no fold split is possible.
C_GRID = (1.0, 10.0, 100.0)
DEFAULT_C = 10.0
CV_FOLDS = 5
SEED = 0


@dataclass(frozen=True)
class ClassifierManifest:
    format_version: int
    model: str  # the encoder of the index it was trained from
    dimension: int
    index_content: str  # content_digest() of that index: the staleness check
    index_fingerprint: str  # that index's manifest fingerprint (for people reading it)
    trained_at: str
    articles: int
    questions: int
    c: float
    cv_accuracy: float | None  # on the knowledge base's own questions, at the chosen C
    cv_folds: int
    cv_by_c: dict[str, float] = field(default_factory=dict)
    train_seconds: float = 0.0


class QuestionClassifier:
    def __init__(self, article_ids: npt.NDArray[np.int64], coef: Vectors,
                 intercept: Vectors, manifest: ClassifierManifest) -> None:
        self.article_ids = article_ids
        self.coef = coef  # (classes, dimension); two-class models are stored as two rows
        self.intercept = intercept
        self.manifest = manifest

    def log_proba(self, vectors: Vectors) -> Vectors:
        """Log-probabilities, one row per query vector, columns in `article_ids` order."""
        logits = np.atleast_2d(vectors) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def article_log_proba(self, vector: Vectors) -> dict[int, float]:
        row = self.log_proba(vector)[0]
        return dict(zip(self.article_ids.tolist(), row.tolist(), strict=True))

    def fits(self, index: VectorIndex) -> bool:
        """Trained for exactly this index content (and encoder)?"""
        return (self.manifest.model == index.manifest.model
                and self.manifest.dimension == index.manifest.dimension
                and self.manifest.index_content == content_digest(index))

    def save(self, directory: Path) -> Path:
        """One file written under a temporary name, flushed and renamed: a reader sees the
        previous classifier or this one, never a mix of two."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / ARTIFACT_FILE
        tmp = directory / f".{ARTIFACT_FILE}.{os.getpid()}.{threading.get_ident()}"
        buffer = io.BytesIO()
        np.savez(buffer, article_ids=self.article_ids, coef=self.coef,
                 intercept=self.intercept,
                 manifest=np.array(json.dumps(asdict(self.manifest))))
        try:
            with open(tmp, "wb") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    @classmethod
    def load(cls, path: Path) -> QuestionClassifier:
        with np.load(path, allow_pickle=False) as data:
            raw: dict[str, Any] = json.loads(str(data["manifest"]))
            if raw.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"classifier format {raw.get('format_version')} is not "
                                 f"{FORMAT_VERSION}")
            return cls(data["article_ids"].astype(np.int64),
                       data["coef"].astype(np.float32), data["intercept"].astype(np.float32),
                       ClassifierManifest(**raw))


# --- what it is trained for ----------------------------------------------------------------

_digest_lock = threading.Lock()
_digest_cache: list[tuple[VectorIndex, object, str]] = []


def content_digest(index: VectorIndex) -> str:
    """Digest of everything the index holds (any chunk of any article): a classifier is
    trusted only for the content it was trained on, body edits included. Computed once
    per loaded index (every add or removal gives the index a new manifest object)."""
    with _digest_lock:
        if _digest_cache and _digest_cache[0][0] is index \
                and _digest_cache[0][1] is index.manifest:
            return _digest_cache[0][2]
    digest = hashlib.sha256(f"{index.manifest.model}|{index.manifest.dimension}".encode())
    for chunk in sorted(index.entries):
        entry = index.entries[chunk]
        digest.update(json.dumps([chunk, entry.article_id, entry.kind, entry.text]).encode())
    value = digest.hexdigest()
    with _digest_lock:
        _digest_cache[:] = [(index, index.manifest, value)]  # only the current one is searched
    return value


def generation(directory: Path) -> str | None:
    """Which save of the index is on disk (changes with every save, even one that changes
    no content); the debounce token of a scheduled retrain. None without an index."""
    try:
        raw = json.loads((directory / MANIFEST_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return f"{raw.get('fingerprint')}|{raw.get('built_at')}|{raw.get('count')}"


# --- training ------------------------------------------------------------------------------

def training_rows(index: VectorIndex) -> tuple[Vectors, npt.NDArray[np.int64]]:
    """(question vectors, article ids): every article's title and alternative questions,
    as the index stores them (no re-encoding; the index's own encoder)."""
    ids = sorted(i for i, e in index.entries.items() if e.kind in TRAINED_ON)
    labels = np.array([index.entries[i].article_id for i in ids], dtype=np.int64)
    return index.vectors(ids), labels


def _fit(x: Vectors, y: npt.NDArray[np.int64], c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000).fit(x, y)


def choose_c(x: Vectors, y: npt.NDArray[np.int64], grid: tuple[float, ...] = C_GRID,
             folds: int = CV_FOLDS) -> tuple[float, float | None, int, dict[str, float]]:
    """(C, its cross-validated accuracy, folds, accuracy per C). Ties go to the smaller C
    (stronger regularisation, less confident probabilities)."""
    from sklearn.model_selection import StratifiedKFold

    # An article with fewer questions than folds is missing from some training folds and
    # counts as an error there: what a classifier that never saw it would do.
    folds = min(folds, int(np.bincount(np.unique(y, return_inverse=True)[1]).max()))
    if folds < 2:
        return DEFAULT_C, None, 0, {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=SEED).split(x, y))
    by_c: dict[str, float] = {}
    for c in grid:
        correct = sum(int((_fit(x[tr], y[tr], c).predict(x[te]) == y[te]).sum())
                      for tr, te in splits)
        by_c[str(c)] = round(correct / len(y), 4)
    best = max(grid, key=lambda c: (by_c[str(c)], -c))
    return best, by_c[str(best)], folds, by_c


def train(index: VectorIndex, *, grid: tuple[float, ...] = C_GRID,
          folds: int = CV_FOLDS) -> QuestionClassifier:
    """Raises ValueError when the index holds fewer than two articles."""
    started = time.perf_counter()
    x, y = training_rows(index)
    articles = np.unique(y)
    if len(articles) < 2:
        raise ValueError("the classifier needs at least two articles to tell apart")
    # One BLAS thread: these are small products, and on a busy machine multi-threaded BLAS
    # spin-waits for cores other processes hold (measured here: 60 s instead of 1.6 s).
    with threadpool_limits(1):
        c, cv_accuracy, used_folds, by_c = choose_c(x, y, grid, folds)
        model = _fit(x, y, c)
    coef = np.asarray(model.coef_, dtype=np.float32)
    intercept = np.asarray(model.intercept_, dtype=np.float32)
    if len(model.classes_) == 2:  # sklearn keeps one row for two classes: logits (0, z)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([np.zeros_like(intercept), intercept])
    manifest = ClassifierManifest(
        format_version=FORMAT_VERSION, model=index.manifest.model,
        dimension=index.manifest.dimension, index_content=content_digest(index),
        index_fingerprint=index.manifest.fingerprint,
        trained_at=datetime.now(UTC).isoformat(), articles=len(articles), questions=len(y),
        c=c, cv_accuracy=cv_accuracy, cv_folds=used_folds, cv_by_c=by_c,
        train_seconds=round(time.perf_counter() - started, 2))
    return QuestionClassifier(np.asarray(model.classes_, dtype=np.int64), coef, intercept,
                              manifest)


@dataclass(frozen=True)
class Outcome:
    status: str  # trained, current, superseded, no index, disabled, too large, too small
    manifest: ClassifierManifest | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail,
                **(asdict(self.manifest) if self.manifest else {})}


def load_current(directory: Path) -> QuestionClassifier | None:
    try:
        return QuestionClassifier.load(directory / ARTIFACT_FILE)
    except FileNotFoundError:
        return None
    except (ValueError, OSError, KeyError, TypeError):
        log.warning("knowledge-base classifier %s cannot be read; retraining it",
                    directory / ARTIFACT_FILE, exc_info=True)
        return None


def train_current(*, force: bool = False) -> Outcome:
    """Train the classifier for the index on disk and store it next to it, unless the
    stored one already fits that index (`force` retrains anyway)."""
    settings = get_settings()
    directory = settings.index_dir
    if not settings.kb_classifier_enabled:
        return Outcome("disabled")
    with write_lock(directory):  # a consistent snapshot of the index; training runs unlocked
        token = generation(directory)
        try:
            index = VectorIndex.load(directory)
        except (FileNotFoundError, ValueError):
            return Outcome("no index", detail="build it with `tandem kb reindex`")
    existing = load_current(directory)
    if existing is not None and existing.fits(index) and not force:
        return Outcome("current", existing.manifest)
    articles = len(index.article_ids())
    if articles > settings.kb_classifier_max_articles:
        return Outcome("too large", detail=f"{articles} articles; the limit is "
                       f"{settings.kb_classifier_max_articles} (TANDEM_KB_CLASSIFIER_MAX_ARTICLES)")
    try:
        classifier = train(index)
    except ValueError as exc:
        return Outcome("too small", detail=str(exc))
    with write_lock(directory):
        if generation(directory) != token:
            # Saved again while this one trained: that save scheduled its own retrain, and
            # this classifier would be stale the moment it was written.
            return Outcome("superseded", classifier.manifest,
                           "the index changed during training")
        classifier.save(directory)
    log.info("knowledge-base classifier trained: %d articles, %d questions, C=%s, "
             "cross-validated accuracy %s", classifier.manifest.articles,
             classifier.manifest.questions, classifier.manifest.c,
             classifier.manifest.cv_accuracy)
    return Outcome("trained", classifier.manifest)


def retrain_if_settled(token: str) -> Outcome:
    """The debounced retrain: train only if the index is still the save that scheduled
    this run. A later save scheduled a run of its own, so a burst of publishes trains once,
    after the last of them."""
    current = generation(get_settings().index_dir)
    if current != token:
        return Outcome("superseded", detail="the index was saved again since")
    return train_current()


def needs_training() -> bool:
    """The stored classifier is missing or does not fit the index on disk."""
    settings = get_settings()
    if not settings.kb_classifier_enabled:
        return False
    try:
        index = VectorIndex.load(settings.index_dir)
    except (FileNotFoundError, ValueError):
        return False  # no index: nothing to train for yet
    if not 2 <= len(index.article_ids()) <= settings.kb_classifier_max_articles:
        return False  # nothing a classifier could tell apart, or too large to train
    existing = load_current(settings.index_dir)
    return existing is None or not existing.fits(index)


# --- reading it in the retriever -----------------------------------------------------------

class ClassifierHolder:
    """Keeps the stored classifier and reloads it when a new one is written."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._classifier: QuestionClassifier | None = None
        self._stamp: tuple[int, int] | None = None

    def get(self) -> QuestionClassifier | None:
        try:
            stat = (self.directory / ARTIFACT_FILE).stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_ino)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._classifier = load_current(self.directory)
                    self._stamp = stamp
        return self._classifier
