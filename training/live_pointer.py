"""The live pointer: a small JSON file naming the live version's model files.

The bot path reads it on every turn (one `stat`, re-read only when its mtime changes), so it
never queries the registry table to find out which classifier to use. It is written after the
promotion commits (never for a rolled-back one), and `sync` rewrites it from the database when
it drifted (a process that died between commit and write; the Rasa runner calls it).

Shape: {"version": 3, "baseline": false, "classifier": path | null, "thresholds": path | null,
"rasa_model": path | null, "written_at": iso}. null = the default model of bot/ (the baseline).
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import after_commit
from core.settings import get_settings
from training.models import ModelStatus, ModelVersion

_PENDING_KEY = "tandem_live_pointer"
_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "value": None}


def registry_dir() -> Path:
    return get_settings().data_dir / "registry"


def pointer_path() -> Path:
    return registry_dir() / "live.json"


def pointer_for(version: ModelVersion) -> dict[str, Any]:
    artifacts = version.artifacts or {}
    return {
        "version": version.version,
        "baseline": bool((version.options or {}).get("baseline")),
        "classifier": artifacts.get("classifier"),
        "thresholds": artifacts.get("thresholds"),
        "rasa_model": artifacts.get("rasa_model"),
    }


def write(pointer: dict[str, Any], path: Path | None = None) -> Path:
    """Atomically replace the pointer file (readers see the old or the new one, never half)."""
    path = path or pointer_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**pointer, "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=2))
    tmp.replace(path)
    return path


def read(path: Path | None = None) -> dict[str, Any] | None:
    """The current pointer, or None when no version was ever promoted here (cached by mtime)."""
    path = path or pointer_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if _cache["key"] == key:
            return dict(_cache["value"]) if _cache["value"] is not None else None
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # being replaced right now; the next read sees the new file
    with _lock:
        _cache.update(key=key, value=value)
    return dict(value)


def write_after_commit(session: Session, version: ModelVersion) -> None:
    """Write the pointer for `version` once this session's transaction commits."""
    after_commit.defer(session, _PENDING_KEY, pointer_for(version))


def _write_latest(pointers: list[dict[str, Any]]) -> None:
    write(pointers[-1])


after_commit.register(_PENDING_KEY, _write_latest)


def _same(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    if a is None:
        return False
    return all(a.get(k) == b.get(k) for k in ("version", "classifier", "thresholds",
                                               "rasa_model"))


def sync(session: Session) -> bool:
    """Rewrite the pointer from the live row if they differ; True when it was rewritten."""
    row = session.scalar(select(ModelVersion).where(ModelVersion.status == ModelStatus.LIVE))
    if row is None:
        return False  # nothing registered yet: the bot runs on the default models
    wanted = pointer_for(row)
    if _same(read(), wanted):
        return False
    write(wanted)
    return True
