"""Which Rasa servers the platform talks to right now: var/rasa/active.json.

The Rasa runner (bot/model_switch.py) writes it whenever the set of servers answering on the
live model changes (started, died, switched to a new model); the api's Rasa client reads it
(one `stat` per call, re-read when the file changes) and spreads conversations over `urls`.
`url` is the first of them, for readers that know one server only. Without the file the
configured TANDEM_RASA_URL is used.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import get_settings

_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "value": None}


def active_path() -> Path:
    return get_settings().data_dir / "rasa" / "active.json"


def write_active(urls: str | Sequence[str], model: Path,
                 pids: int | Sequence[int] | None = None) -> Path:
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("write_active needs at least one URL; clear_active() when none answer")
    pid_list = [pids] if isinstance(pids, int) else list(pids or [])
    path = active_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {"url": urls[0], "urls": urls, "model": str(model),
            "pid": pid_list[0] if pid_list else None, "pids": pid_list,
            "switched_at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=2))
    tmp.replace(path)  # atomic: a reader sees the old set of servers or the new one
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


def active_rasa_urls() -> list[str]:
    """The Rasa servers to send messages to: the runner's choice, else the configured URL."""
    active = read_active() or {}
    urls = [str(u).rstrip("/") for u in active.get("urls") or [] if u]
    if not urls and active.get("url"):
        urls = [str(active["url"]).rstrip("/")]
    return urls or [get_settings().rasa_url.rstrip("/")]


def active_rasa_url() -> str:
    """The first of them (readers that talk to one server)."""
    return active_rasa_urls()[0]
