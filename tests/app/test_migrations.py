"""The migrations produce exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.models import metadata
from core.database import get_engine


def _ours(_object, name, type_, _reflected, _compare_to):
    # Celery's result backend creates and owns its celery_* tables.
    return not (type_ == "table" and str(name).startswith("celery_"))


def test_models_and_migrations_agree(db_url):
    with get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": _ours})
        differences = compare_metadata(context, metadata)
    assert differences == []
