"""Knowledge-base fixtures: a private index directory, so tests that publish and archive
never disturb the demo index other tests search."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import configure


@pytest.fixture
def private_index(tmp_path: Path) -> Iterator[Path]:
    # Index holders are kept per directory: a new directory gets a new one.
    previous = os.environ.get("TANDEM_KB_INDEX_DIR")
    directory = tmp_path / "kb_index"
    configure(TANDEM_KB_INDEX_DIR=str(directory))
    yield directory
    if previous is None:
        os.environ.pop("TANDEM_KB_INDEX_DIR", None)
    else:
        os.environ["TANDEM_KB_INDEX_DIR"] = previous
    configure()


@pytest.fixture(autouse=True)
def _tasks_off_the_platform_database(tmp_path: Path) -> Iterator[None]:
    """Publishing sends tasks after commit. The default result backend is the platform
    database, where Celery would create its own tables (which the migrations test would
    then see): keep the broker and results out of it."""
    from app.worker import create_celery

    def off_the_database() -> None:
        configure(TANDEM_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
                  TANDEM_RESULT_BACKEND="cache+memory://")
        create_celery()

    off_the_database()
    yield
    # The app left behind stays off the database too: a session-scoped fixture set up later
    # (demo_index seeds articles and so sends a task) would otherwise write Celery's tables
    # into whichever test database was configured when the app was created.
    off_the_database()
    configure(TANDEM_BROKER_URL="", TANDEM_RESULT_BACKEND="")
