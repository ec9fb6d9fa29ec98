"""The persisted vector index: a FAISS inner-product index over unit vectors, plus a
sidecar with what each vector points at. Written atomically; readers pick up a new
build on their next query."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from nlu.encoders import Vectors

FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
ENTRIES_FILE = "entries.json"
MANIFEST_FILE = "manifest.json"


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


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dimension: int
    count: int
    fingerprint: str
    built_at: str


class VectorIndex:
    def __init__(self, index: faiss.Index, entries: list[IndexEntry], manifest: Manifest) -> None:
        self._index = index
        self.entries = entries
        self.manifest = manifest

    @classmethod
    def build(cls, vectors: Vectors, entries: list[IndexEntry], manifest: Manifest) -> VectorIndex:
        if len(vectors) != len(entries):
            raise ValueError("one vector per entry is required")
        index = faiss.IndexFlatIP(manifest.dimension)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, entries, manifest)

    def search(self, query: Vectors, k: int) -> list[tuple[IndexEntry, float]]:
        if self._index.ntotal == 0:
            return []
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k)
        return [
            (self.entries[int(i)], float(s)) for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]

    def save(self, directory: Path) -> None:
        """Write to temporary files, then rename: a reader never sees half an index."""
        directory.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        tmp_index = directory / f".{INDEX_FILE}.{pid}"
        tmp_entries = directory / f".{ENTRIES_FILE}.{pid}"
        tmp_manifest = directory / f".{MANIFEST_FILE}.{pid}"
        faiss.write_index(self._index, str(tmp_index))
        tmp_entries.write_text(json.dumps([asdict(e) for e in self.entries]))
        tmp_manifest.write_text(json.dumps(asdict(self.manifest), indent=2))
        os.replace(tmp_index, directory / INDEX_FILE)
        os.replace(tmp_entries, directory / ENTRIES_FILE)
        os.replace(tmp_manifest, directory / MANIFEST_FILE)  # last: it marks the build done

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        manifest_data: dict[str, Any] = json.loads((directory / MANIFEST_FILE).read_text())
        manifest = Manifest(**manifest_data)
        if manifest.format_version != FORMAT_VERSION:
            raise ValueError(
                f"index format {manifest.format_version} is not {FORMAT_VERSION}; reindex"
            )
        entries = [IndexEntry(**e) for e in json.loads((directory / ENTRIES_FILE).read_text())]
        index = faiss.read_index(str(directory / INDEX_FILE))
        if index.ntotal != len(entries):
            raise ValueError("index and entries disagree; reindex")
        return cls(index, entries, manifest)


class IndexHolder:
    """Keeps the loaded index and reloads it when a new build's manifest appears."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._index: VectorIndex | None = None
        self._stamp: float | None = None

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
