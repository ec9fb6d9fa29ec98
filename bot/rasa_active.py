"""Which Rasa server the platform talks to right now: var/rasa/active.json.

The Rasa runner (bot/model_switch.py) writes it when a server on the live model answers; the
api's Rasa client reads it (one `stat` per call, re-read when the file changes). Without the
file the configured TANDEM_RASA_URL is used. `urls` is a list so that several servers can be
named later (issue 12); today the runner writes one.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import get_settings

_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "value": None}


def active_path() -> Path:
    return get_settings().data_dir / "rasa" / "active.json"


def write_active(url: str, model: Path, pid: int | None = None) -> Path:
    path = active_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {"url": url, "urls": [url], "model": str(model), "pid": pid,
            "switched_at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=2))
    tmp.replace(path)  # atomic: a reader sees the old server or the new one
    return path


def clear_active() -> None:
    active_path().unlink(missing_ok=True)


def read_active() -> dict[str, Any] | None:
    path = active_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if _cache["key"] == key:
            return _cache["value"]
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    with _lock:
        _cache.update(key=key, value=value)
    return value


def active_rasa_url() -> str:
    """The Rasa server to send messages to: the runner's choice, else the configured URL."""
    active = read_active()
    if active and active.get("url"):
        return str(active["url"])
    return get_settings().rasa_url
