"""Shared fixtures.

Database tests run twice: on the embedded SQLite default and on the PostgreSQL server
running on this machine (a throw-away database per test run). Each test starts from empty
tables. Settings come from the environment, as in production.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="tandem-tests-"))
os.environ["TANDEM_DATA_DIR"] = str(_SESSION_DIR / "data")
# Trained Rasa models are cached by training-data fingerprint across test runs.
os.environ.setdefault("TANDEM_MODELS_DIR", str(REPO / "var" / "models"))
os.environ["TANDEM_RASA_URL"] = "http://127.0.0.1:9"  # nothing listens: unit tests see Rasa down
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# In-process apps start per test: they load models on first use, not at every start.
os.environ["TANDEM_WARM_UP_BEFORE_SERVING"] = "false"

from sqlalchemy import create_engine, text  # noqa: E402

from core.settings import get_settings  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def configure(**env: str) -> None:
    """Point settings (and the cached engine) at new values."""
    from core.database import reset_engine_cache
    from core.event_bus import reset_bus

    os.environ.update(env)
    get_settings.cache_clear()
    reset_engine_cache()
    reset_bus()


class _Databases:
    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.pg_name: str | None = None

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            self.urls[backend] = self._create(backend)
        return self.urls[backend]

    def _create(self, backend: str) -> str:
        from app.db import upgrade

        if backend == "sqlite":
            url = f"sqlite:///{_SESSION_DIR / 'platform.db'}"
        else:
            self.pg_name = f"tandem_test_{uuid.uuid4().hex[:10]}"
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.pg_name}"'))
            admin.dispose()
            url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.pg_name}"
        upgrade(url)
        return url

    def drop(self) -> None:
        if self.pg_name:
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def databases() -> Iterator[_Databases]:
    dbs = _Databases()
    yield dbs
    from core.database import reset_engine_cache

    reset_engine_cache()
    dbs.drop()


def _empty_tables() -> None:
    from app.models import metadata
    from core.database import get_engine

    engine = get_engine()
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, databases: _Databases) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    url = databases.url(request.param)
    configure(TANDEM_DATABASE_URL=url)
    _empty_tables()
    yield url
    _empty_tables()


@pytest.fixture
def session(db_url: str) -> Iterator[object]:
    from core.database import get_sessionmaker

    db_session = get_sessionmaker()()
    try:
        yield db_session
    finally:
        db_session.rollback()
        db_session.close()


@pytest.fixture(scope="session")
def demo_index() -> Path:
    """The demo articles indexed once per run (in a SQLite database of their own)."""
    from app.db import upgrade
    from app.demo import seed
    from core.database import session_scope
    from knowledge_base.indexing import rebuild_index

    url = f"sqlite:///{_SESSION_DIR / 'kb-build.db'}"
    previous = os.environ.get("TANDEM_DATABASE_URL")
    upgrade(url)
    configure(TANDEM_DATABASE_URL=url)
    with session_scope() as db:
        seed(db)
    with session_scope() as db:
        rebuild_index(db)
    if previous:
        configure(TANDEM_DATABASE_URL=previous)
    return get_settings().index_dir


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks in-process right after commit (a retry runs at once, its countdown
    only recorded), so a test sees the whole send; the broker is exercised by the e2e tests."""
    from app.worker import celery_app

    # A test that ran a real worker may have left another app current; tasks bind to it.
    celery_app.set_current()
    celery_app.set_default()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def smtp(db_url: str, eager_tasks: None) -> Iterator[object]:
    """A real SMTP server (aiosmtpd) on a free port, with the app's settings pointing at it."""
    from tests.channels_email.mail import smtp_server

    with smtp_server() as collector:
        yield collector
