"""The persisted vector index: FAISS over unit vectors (inner product = cosine) behind an
id map, so one article's chunks can be removed and re-added without a rebuild, plus a
sidecar with what each vector points at. Exact (flat) by default; an approximate IVF index
above a configurable size. Written atomically; readers pick up a new build on their next
query."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from nlu.encoders import Vectors

FORMAT_VERSION = 3  # 3: entries carry the article's translation group
INDEX_FILE = "index.faiss"
ENTRIES_FILE = "entries.json"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".write.lock"
# A chunk's id is (article id << CHUNK_BITS) | chunk number: an article's ids are a known range.
CHUNK_BITS = 16
MAX_CHUNKS_PER_ARTICLE = (1 << CHUNK_BITS) - 1


def chunk_id(article_id: int, number: int) -> int:
    if number > MAX_CHUNKS_PER_ARTICLE:
        raise ValueError(f"an article may have at most {MAX_CHUNKS_PER_ARTICLE} chunks")
    return (article_id << CHUNK_BITS) | number


@dataclass(frozen=True)
class IndexEntry:
    article_id: int
    slug: str
    title: str
    category: str
    locale: str
    kind: str
    text: str
    display: str
    id: int = -1  # the chunk id in the FAISS id map
    group: str = ""  # the article's translation group: the same article in other locales


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dimension: int
    count: int
    fingerprint: str
    built_at: str
    kind: str = "flat"  # flat or ivf-sq8


def _new_faiss(dimension: int, vectors: Vectors, approximate_above: int, nprobe: int
               ) -> tuple[faiss.Index, str]:
    if len(vectors) < max(approximate_above, 1):
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), "flat"
    # IVF keeps removal by id (HNSW cannot remove), so publish/archive stay incremental;
    # 8-bit scalar quantisation stores a vector in a quarter of the memory.
    nlist = int(max(16, min(4096, 4 * np.sqrt(len(vectors)))))
    quantizer = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist,
                                        faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.train(np.ascontiguousarray(vectors, dtype=np.float32))
    ivf.nprobe = nprobe
    return ivf, "ivf-sq8"


class VectorIndex:
    def __init__(self, index: faiss.Index, entries: dict[int, IndexEntry],
                 manifest: Manifest) -> None:
        self._index = index
        self.entries = entries
        self.manifest = manifest

    @classmethod
    def build(cls, vectors: Vectors, entries: list[IndexEntry], manifest: Manifest,
              approximate_above: int = 1 << 62, nprobe: int = 16) -> VectorIndex:
        if len(vectors) != len(entries):
            raise ValueError("one vector per entry is required")
        entries = [e if e.id >= 0 else replace(e, id=i) for i, e in enumerate(entries)]
        index, kind = _new_faiss(manifest.dimension, vectors, approximate_above, nprobe)
        built = cls(index, {}, replace(manifest, kind=kind))
        built.add(vectors, entries)
        return built

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: Vectors, entries: list[IndexEntry]) -> None:
        if len(vectors) != len(entries):
            raise ValueError("one vector per entry is required")
        if not entries:
            return
        ids = np.array([e.id for e in entries], dtype=np.int64)
        if any(int(i) in self.entries for i in ids):
            raise ValueError("chunk ids already present; remove the article first")
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self.entries.update({e.id: e for e in entries})
        self._recount()

    def remove_article(self, article_id: int) -> int:
        ids = [i for i, e in self.entries.items() if e.article_id == article_id]
        if ids:
            self._index.remove_ids(np.array(ids, dtype=np.int64))  # type: ignore[arg-type]
            for i in ids:
                del self.entries[i]
            self._recount()
        return len(ids)

    def article_ids(self) -> set[int]:
        return {e.article_id for e in self.entries.values()}

    def vectors(self, ids: list[int]) -> Vectors:
        """The stored vectors of these chunks (8-bit approximations in an IVF index)."""
        if isinstance(self._index, faiss.IndexIVF):
            # IVF keeps no id -> vector map by default; a hash map works with any ids.
            self._index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        if not ids:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        return np.asarray(self._index.reconstruct_batch(np.array(ids, dtype=np.int64)),
                          dtype=np.float32)

    def _recount(self) -> None:
        self.manifest = replace(self.manifest, count=len(self.entries))

    def set_fingerprint(self, fingerprint: str, built_at: str) -> None:
        self.manifest = replace(self.manifest, fingerprint=fingerprint, built_at=built_at)

    def search(self, query: Vectors, k: int) -> list[tuple[IndexEntry, float]]:
        if self._index.ntotal == 0:
            return []
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k)
        return [
            (self.entries[int(i)], float(s)) for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0 and int(i) in self.entries
        ]

    def save(self, directory: Path) -> None:
        """Write to temporary files, then rename: a reader never sees half an index."""
        directory.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        tmp_index = directory / f".{INDEX_FILE}.{pid}"
        tmp_entries = directory / f".{ENTRIES_FILE}.{pid}"
        tmp_manifest = directory / f".{MANIFEST_FILE}.{pid}"
        faiss.write_index(self._index, str(tmp_index))
        tmp_entries.write_text(json.dumps([asdict(e) for e in self.entries.values()]))
        tmp_manifest.write_text(json.dumps(asdict(self.manifest), indent=2))
        os.replace(tmp_index, directory / INDEX_FILE)
        os.replace(tmp_entries, directory / ENTRIES_FILE)
        os.replace(tmp_manifest, directory / MANIFEST_FILE)  # last: it marks the build done

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        manifest_data: dict[str, Any] = json.loads((directory / MANIFEST_FILE).read_text())
        if manifest_data.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"index format {manifest_data.get('format_version')} is not "
                f"{FORMAT_VERSION}; reindex"
            )
        manifest = Manifest(**manifest_data)
        entries = [IndexEntry(**e) for e in json.loads((directory / ENTRIES_FILE).read_text())]
        index = faiss.read_index(str(directory / INDEX_FILE))
        if index.ntotal != len(entries):
            raise ValueError("index and entries disagree; reindex")
        return cls(index, {e.id: e for e in entries}, manifest)


@contextmanager
def write_lock(directory: Path) -> Iterator[None]:
    """One writer at a time across processes (api, worker, CLI): load-modify-save is safe."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class IndexHolder:
    """Keeps the loaded index and reloads it when a new build's manifest appears."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._index: VectorIndex | None = None
        self._stamp: int | None = None

    def get(self) -> VectorIndex | None:
        manifest = self.directory / MANIFEST_FILE
        try:
            stamp = manifest.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._index = VectorIndex.load(self.directory)
                    self._stamp = stamp
        return self._index
