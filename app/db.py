"""Database schema management through Alembic, configured from settings."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from core.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = database_url or get_settings().database_url
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str | None = None, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def make_migration(message: str) -> None:
    command.revision(alembic_config(), message=message, autogenerate=True)


def downgrade(revision: str, database_url: str | None = None) -> None:
    """Undo migrations down to `revision` ("0720@-1" undoes only head 0720; "base" all)."""
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str | None = None) -> list[str]:
    """The revisions the database is at (one per applied head), sorted."""
    engine = create_engine(database_url or get_settings().database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return sorted(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
