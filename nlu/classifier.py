"""The intent classifier behind the hand-off decision.

Features: the sentence embedding (nlu.encoders: all-MiniLM-L6-v2 for English,
multilingual-e5-small for other languages) joined with TF-IDF word and character n-grams
(Chinese is segmented into words first, and its character n-grams carry most of the signal);
a multinomial logistic regression on top. Chosen by
measurement on CLINC150 (docs/nlu.md): the embedding carries meaning, the n-grams carry the
exact product words and typos the small embedding model blurs, and logistic regression gives
probabilities that calibrate well and trains the full CLINC150 set in about a minute.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from nlu.encoders import Encoder, Vectors, get_encoder
from nlu.language import segment

MAX_CHARS = 1000  # longer messages are truncated: the point of a message comes early

Matrix = npt.NDArray[Any]  # float32 embeddings or float64 probabilities


@dataclass(frozen=True)
class Ranking:
    """Top intents of one message, best first."""

    intents: list[str]
    confidences: list[float]

    @property
    def intent(self) -> str | None:
        return self.intents[0] if self.intents else None

    @property
    def confidence(self) -> float:
        return self.confidences[0] if self.confidences else 0.0

    @property
    def second_confidence(self) -> float:
        return self.confidences[1] if len(self.confidences) > 1 else 0.0


def clean_texts(texts: Sequence[str]) -> list[str]:
    return [(t or "").strip()[:MAX_CHARS] for t in texts]


# Words of two or more letters, or one Han character (a whole word in Chinese).
WORD_PATTERN = r"(?u)\b\w\w+\b|[\u3400-\u9fff\uf900-\ufaff]"


def _segmented(text: str) -> str:
    return segment(text).lower()


class IntentClassifier:
    def __init__(self, c: float = 10.0, embedding_weight: float = 1.0,
                 use_ngrams: bool = True, encoder: Encoder | None = None) -> None:
        self.c = c
        self.embedding_weight = embedding_weight
        self.use_ngrams = use_ngrams
        self._encoder = encoder
        # The encoder the model was trained with: a loaded model uses the same one again.
        self.encoder_name: str | None = encoder.name if encoder is not None else None
        self.ngrams: FeatureUnion | None = None
        self.model: LogisticRegression | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = get_encoder(getattr(self, "encoder_name", None))
            self.encoder_name = self._encoder.name
        return self._encoder

    @property
    def labels(self) -> list[str]:
        assert self.model is not None, "classifier is not trained"
        return [str(c) for c in self.model.classes_]

    def _features(self, texts: list[str], embeddings: Matrix | None, fit: bool) -> Any:
        dense = embeddings if embeddings is not None else self.encoder.encode(texts)
        parts: list[Any] = [sparse.csr_matrix(np.asarray(dense) * self.embedding_weight)]
        if self.use_ngrams:
            if fit:
                self.ngrams = FeatureUnion([
                    ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                              min_df=1, preprocessor=_segmented,
                                              token_pattern=WORD_PATTERN)),
                    ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                              sublinear_tf=True, min_df=2, lowercase=True)),
                ])
                self.ngrams.fit(texts)
            assert self.ngrams is not None
            # Each block is unit-length; halve the n-grams so the embedding keeps equal say.
            parts.append(self.ngrams.transform(texts) * 0.5)
        return sparse.hstack(parts).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[str],
            embeddings: Matrix | None = None) -> IntentClassifier:
        if len(set(labels)) < 2:
            raise ValueError("training data needs at least two intents")
        cleaned = clean_texts(texts)
        if embeddings is None:
            self.encoder_name = self.encoder.name
        features = self._features(cleaned, embeddings, fit=True)
        self.model = LogisticRegression(C=self.c, max_iter=300)
        self.model.fit(features, list(labels))
        return self

    def predict_proba(self, texts: Sequence[str], embeddings: Matrix | None = None) -> Matrix:
        assert self.model is not None, "classifier is not trained"
        if not texts:
            return np.zeros((0, len(self.labels)))
        features = self._features(clean_texts(texts), embeddings, fit=False)
        return np.asarray(self.model.predict_proba(features), dtype=np.float64)

    def rank(self, text: str, top: int = 5, embedding: Vectors | None = None) -> Ranking:
        """`embedding`: the text's sentence embedding when the caller has it already."""
        if not (text or "").strip():
            return Ranking([], [])
        probs = self.predict_proba(
            [text], embedding.reshape(1, -1) if embedding is not None else None)[0]
        order = np.argsort(-probs)[:top]
        labels = self.labels
        return Ranking([labels[i] for i in order], [float(probs[i]) for i in order])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        encoder, self._encoder = self._encoder, None  # the encoder is loaded, not pickled
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(self))
            tmp.replace(path)
        finally:
            self._encoder = encoder

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        # Only files this platform wrote itself under its models directory are loaded.
        loaded = pickle.loads(path.read_bytes())  # noqa: S301
        if not isinstance(loaded, cls):
            raise TypeError(f"{path} is not an intent classifier")
        return loaded


def top_two(probs: Matrix, labels: Sequence[str]) -> tuple[list[str], Matrix, Matrix]:
    """Per row: the best label, its probability and the runner-up's probability."""
    order = np.argsort(-probs, axis=1)
    rows = np.arange(len(probs))
    best = probs[rows, order[:, 0]]
    second = probs[rows, order[:, 1]] if probs.shape[1] > 1 else np.zeros(len(probs))
    return [labels[i] for i in order[:, 0]], best, second
