"""A Rasa tracker store for privacy tests, written by Rasa's own SQLTrackerStore."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.settings import get_settings
from tests.conftest import POSTGRES_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"
WRITER = Path(__file__).with_name("rasa_tracker_writer.py")


def _set_tracker_url(url: str | None) -> None:
    if url is None:
        os.environ.pop("TANDEM_RASA_TRACKER_DB_URL", None)
    else:
        os.environ["TANDEM_RASA_TRACKER_DB_URL"] = url
    get_settings.cache_clear()


@pytest.fixture
def tracker_db(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The tracker store on the same backend as the platform database: a SQLite file of its
    own, or a PostgreSQL database (a throw-away one here, so the platform test database
    keeps only the platform's tables)."""
    if make_url(db_url).get_backend_name() == "sqlite":
        url = f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
        pg_name = None
    else:
        pg_name = f"tandem_tracker_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
        admin.dispose()
        url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    _set_tracker_url(url)
    yield url
    _set_tracker_url(None)
    if pg_name:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def write_trackers(tracker_db: str) -> Callable[[dict[str, list[str]]], None]:
    from bot.rasa_server import tracker_store_config

    def write(conversations: dict[str, list[str]]) -> None:
        config = tracker_store_config(get_settings())
        subprocess.run([str(RASA_PYTHON), str(WRITER), json.dumps(config),
                        json.dumps(conversations)],
                       check=True, capture_output=True, timeout=180)

    return write


def tracker_rows(url: str) -> dict[str, int]:
    """Events per sender in the tracker store."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id")).all()
    finally:
        engine.dispose()
    return {sender: int(count) for sender, count in rows}
