"""How the Rasa server is started: its endpoints/credentials files and command line.

Rasa keeps its conversation trackers in an SQL tracker store: by default a SQLite file of
its own (Rasa's SQLAlchemy 1.4 and the platform's 2.x need not share a file); on
PostgreSQL, the platform's database.
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
