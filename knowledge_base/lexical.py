"""BM25 over the indexed chunk texts (bm25s). Built from the texts in the index sidecar,
so it always matches the dense index; building it only tokenizes (no model), which is why
it is rebuilt on load rather than persisted."""

from __future__ import annotations

import logging

import bm25s
import numpy as np

STOPWORDS = "en"
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


def _tokenize(texts: list[str]) -> bm25s.tokenization.Tokenized:
    return bm25s.tokenize(texts, stopwords=STOPWORDS, show_progress=False)


class LexicalIndex:
    def __init__(self, ids: list[int], texts: list[str]) -> None:
        self._ids = np.array(ids, dtype=np.int64)
        self._bm25: bm25s.BM25 | None = None
        if texts:
            self._bm25 = bm25s.BM25()
            self._bm25.index(_tokenize(texts), show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) for the best k chunks with a positive score."""
        if self._bm25 is None:
            return []
        tokens = bm25s.tokenize([query], stopwords=STOPWORDS, return_ids=False,
                                show_progress=False)[0]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return [(int(self._ids[i]), float(scores[i])) for i in top if scores[i] > 0]
