"""How the Rasa server is started: its endpoints/credentials files and command line.

Rasa keeps its conversation trackers in an SQL tracker store: by default a SQLite file of
its own (Rasa's SQLAlchemy 1.4 and the platform's 2.x need not share a file); on
PostgreSQL, the platform's database. With TANDEM_RASA_LOCK_STORE_URL set, Rasa's ticket
locks live in Redis, so several Rasa servers sharing the tracker store still handle one
conversation's messages one at a time, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.training import model_path, rasa_executable
from core.settings import Settings, get_settings


def tracker_store_config(settings: Settings) -> dict[str, Any]:
    url = make_url(settings.rasa_tracker_db_url)
    if url.get_backend_name() == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": url.database}
    return {
        "type": "SQL",
        "dialect": "postgresql",
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database,
        "username": url.username or "postgres",
        "password": url.password or "",
    }


def lock_store_config(settings: Settings) -> dict[str, Any] | None:
    """Rasa 3.6's `lock_store` entry (rasa/core/lock_store.py: RedisLockStore takes the
    host as `url`, then port, db, username, password, use_ssl); None = in memory."""
    if not settings.rasa_lock_store_url:
        return None
    url = make_url(settings.rasa_lock_store_url)
    if url.drivername not in ("redis", "rediss"):
        raise ValueError(f"TANDEM_RASA_LOCK_STORE_URL must be a redis:// URL, "
                         f"not {url.drivername}://")
    config: dict[str, Any] = {"type": "redis", "url": url.host or "127.0.0.1",
                              "port": url.port or 6379, "db": int(url.database or 0)}
    if url.username:
        config["username"] = url.username
    if url.password:
        config["password"] = url.password
    if url.drivername == "rediss":
        config["use_ssl"] = True
    return config


def write_config(settings: Settings | None = None) -> Path:
    """Write endpoints.yml and credentials.yml under var/rasa; returns that folder."""
    settings = settings or get_settings()
    folder = settings.data_dir / "rasa"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # endpoints.yml holds a secret
    action: dict[str, Any] = {
        "url": f"{settings.public_base_url}/webhooks/rasa/actions",
        "headers": {"Authorization": settings.action_secret()},
    }
    endpoints = {"action_endpoint": action, "tracker_store": tracker_store_config(settings)}
    lock_store = lock_store_config(settings)
    if lock_store is not None:
        endpoints["lock_store"] = lock_store
    (folder / "endpoints.yml").write_text(yaml.safe_dump(endpoints, sort_keys=False))
    (folder / "credentials.yml").write_text(yaml.safe_dump({"rest": None}))
    return folder


def command(settings: Settings | None = None, model: Path | None = None,
            port: int | None = None) -> list[str]:
    settings = settings or get_settings()
    folder = write_config(settings)
    return [
        str(rasa_executable()), "run", "--enable-api",
        "--model", str(model or model_path(settings.models_dir)),
        "--endpoints", str(folder / "endpoints.yml"),
        "--credentials", str(folder / "credentials.yml"),
        "--interface", "127.0.0.1",
        "--port", str(port or settings.rasa_port),
    ]
