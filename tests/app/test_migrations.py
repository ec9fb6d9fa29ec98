"""The migrations produce exactly the schema the models describe, on both backends."""


import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from app import db
from app.models import metadata
from core.database import get_engine
from tests.live import scratch_postgres


def _ours(_object, name, type_, _reflected, _compare_to):
    # Celery's result backend creates and owns its celery_* tables.
    return not (type_ == "table" and str(name).startswith("celery_"))


def test_models_and_migrations_agree(db_url):
    with get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": _ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request, tmp_path):
    """A database nothing was migrated in yet (not the shared test database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with scratch_postgres("tandem_migrations") as url:
        yield url


def test_every_migration_downgrades_to_base_and_upgrades_again(fresh_url):
    heads = sorted(ScriptDirectory.from_config(db.alembic_config(fresh_url)).get_heads())
    db.upgrade(fresh_url)
    assert db.current(fresh_url) == heads

    db.downgrade("base", fresh_url)
    assert db.current(fresh_url) == []
    engine = create_engine(fresh_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == ["alembic_version"]
            if connection.dialect.name == "postgresql":  # no enum type or sequence left over
                assert connection.scalar(text(
                    "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = "
                    "t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e'")) == 0
                assert inspect(connection).get_sequence_names() == []

        db.upgrade(fresh_url)
        assert db.current(fresh_url) == heads
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": False, "include_object": _ours})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
