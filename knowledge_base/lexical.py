"""BM25 over the indexed chunk texts (bm25s). Built from the texts in the index sidecar,
so it always matches the dense index; building it only tokenizes (no model), which is why
it is rebuilt on load rather than persisted.

Chinese is written without spaces: runs of Han characters are segmented into words
(nlu.language.segment, jieba) before BM25 sees them.
"""

from __future__ import annotations

import logging

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from nlu.language import segment

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

# Words of two or more letters, or a single Han character (寄, 退: whole words in Chinese).
TOKEN_PATTERN = r"(?u)\b\w\w+\b|[\u3400-\u9fff\uf900-\ufaff]"  # noqa: S105 - a regex
STOPWORDS_ZH = ("的", "了", "吗", "呢", "吧", "啊", "是", "我", "你", "我们", "你们", "在", "和",
                "要", "想", "请", "问", "请问", "一下", "怎么", "什么", "可以", "能", "有", "没有",
                "这个", "那个", "就", "都", "也", "还", "把", "被", "对", "给", "么", "嗎")
STOPWORDS = [*STOPWORDS_EN, *STOPWORDS_ZH]


def _tokenize(texts: list[str], **options: object) -> object:
    return bm25s.tokenize([segment(t) for t in texts], stopwords=STOPWORDS,
                          token_pattern=TOKEN_PATTERN, show_progress=False, **options)


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
        tokens = _tokenize([query], return_ids=False)[0]  # type: ignore[index]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return [(int(self._ids[i]), float(scores[i])) for i in top if scores[i] > 0]
