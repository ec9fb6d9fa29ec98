from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN_URL
from tests.live import LiveStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The whole platform on its embedded defaults: SQLite, SQLite broker, Rasa, worker."""
    live = LiveStack(tmp_path_factory.mktemp("live"))
    live.prepare()
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def scaled_stack(tmp_path_factory):
    """The same code on PostgreSQL (platform and Rasa tracker store) and a Redis broker."""
    name = f"tandem_e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    live = LiveStack(tmp_path_factory.mktemp("live-pg"), database_url=url,
                     broker_url="redis://127.0.0.1:6379/14")
    try:
        live.prepare()
        live.start()
        yield live
    finally:
        live.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
