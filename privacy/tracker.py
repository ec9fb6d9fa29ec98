"""Rasa's tracker store, reached with plain SQL on its own database URL.

Rasa's SQLTrackerStore keeps one row per event in the table ``events`` keyed by
``sender_id`` (our conversation id). Rasa runs SQLAlchemy 1.4 in its own environment; we
only need three statements, so we open our own short-lived connection.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from core.errors import DependencyUnavailable
from core.settings import get_settings

EVENTS_TABLE = "events"


def _engine() -> Engine:
    url = make_url(get_settings().rasa_tracker_db_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")  # the driver this environment has
    return create_engine(url, poolclass=NullPool)


def _bind_ids(ids: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    names = {f"id{i}": value for i, value in enumerate(ids)}
    return ", ".join(f":{name}" for name in names), names


def _run(statement: str, ids: tuple[str, ...]) -> Any:
    if not ids:
        return None
    placeholders, params = _bind_ids(ids)
    engine = _engine()
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(EVENTS_TABLE):
                return None  # Rasa has not written a tracker yet: nothing stored
            result = connection.execute(
                text(statement.format(table=EVENTS_TABLE, ids=placeholders)), params)
            return result.all() if result.returns_rows else result.rowcount
    except SQLAlchemyError as exc:
        raise DependencyUnavailable(f"the Rasa tracker store is unreachable: {type(exc).__name__}"
                                    ) from exc
    finally:
        engine.dispose()


def export_events(conversation_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = _run("SELECT sender_id, type_name, timestamp, data FROM {table} "
                "WHERE sender_id IN ({ids}) ORDER BY id", conversation_ids) or []
    events = []
    for sender_id, type_name, timestamp, data in rows:
        try:
            parsed: Any = json.loads(data) if data else None
        except ValueError:
            parsed = data
        events.append({"conversation_id": sender_id, "type": type_name,
                       "timestamp": timestamp, "event": parsed})
    return events


def erase_events(conversation_ids: tuple[str, ...]) -> int:
    return int(_run("DELETE FROM {table} WHERE sender_id IN ({ids})",
                    conversation_ids) or 0)


def count_events(conversation_ids: tuple[str, ...]) -> int:
    rows = _run("SELECT COUNT(*) FROM {table} WHERE sender_id IN ({ids})",
                conversation_ids)
    return int(rows[0][0]) if rows else 0
