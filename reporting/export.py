"""CSV exports of every report and drill-down list, streamed in constant memory.

Same filters, business-hours choice, scope and masking as the screen. Every export is
audited with its filters before the first byte goes out (reports.export).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from conversations.models import Message
from core import audit
from core.auth.models import User
from core.database import session_scope
from core.settings import get_settings
from handoff.models import Team
from reporting import derive, metrics
from reporting.access import Scope
from reporting.facts import ConversationFact
from reporting.filters import ReportFilters
from reporting.schemas import Duration, Figure

FIGURE_COLUMNS = ["section", "row", "label", "metric", "value", "amount", "unit", "samples",
                  "average_seconds", "median_seconds", "business_hours", "conversations"]
LIST_COLUMNS = ["conversation_id", "created_at", "channel", "team_id", "team", "agent_id",
                "agent", "outcome", "intent", "ticket_status", "priority", "messages",
                "first_customer_message"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 5000


def cell(value: object) -> object:
    """Keep spreadsheet apps from running customers' text as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def record_export(session: Session, *, actor: int, what: str, filters: ReportFilters,
                  client_address: str | None, extra: dict[str, Any] | None = None) -> None:
    audit.record(session, actor=actor, action="reports.exported", target=f"report:{what}",
                 client_address=client_address,
                 after={"report": what, "filters": filters.as_dict(), **(extra or {})})


def _figures(model: BaseModel, section: str = "", row: str = "") -> Iterator[list[object]]:
    """Every Figure and Duration in a report, in the order the report has them."""
    if isinstance(model, Figure):
        yield [section, row, model.label, model.metric, model.value, model.amount, model.unit,
               "", "", "", "", model.conversations]
        return
    if isinstance(model, Duration):
        yield [section, row, model.label, model.metric, model.value, "", "seconds",
               model.samples, model.average_seconds, model.median_seconds,
               str(model.business_hours).lower(), model.conversations]
        return
    name = getattr(model, "name", None) or getattr(model, "label", None)
    row = str(name) if isinstance(name, str) and not isinstance(model, Figure) else row
    for field_name in type(model).model_fields:
        if field_name == "meta":
            continue
        value = getattr(model, field_name)
        path = f"{section}.{field_name}" if section else field_name
        if isinstance(value, BaseModel):
            yield from _figures(value, path, row)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    yield from _figures(item, path, row)


def _lines(rows: Iterator[list[object]], header: list[str], *, escape: bool = True
           ) -> Iterator[str]:
    """CSV text in pieces of 500 rows. `escape=False`: the rows escaped their text already."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(v) for v in row] if escape else row)
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@lru_cache
def _sqlite_reader(url: str) -> Engine:
    """SQLite without BEGIN IMMEDIATE: a long export reads a WAL snapshot and holds no write
    lock, so the api and worker keep writing while it streams."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")

    return engine


@contextmanager
def _reading_session() -> Iterator[Session]:
    url = get_settings().database_url
    if make_url(url).get_backend_name() != "sqlite":
        with session_scope() as session:
            yield session
        return
    session = Session(bind=_sqlite_reader(url))
    try:
        yield session
    finally:
        session.close()


def report_csv(report: BaseModel) -> Iterator[str]:
    return _lines(_figures(report), FIGURE_COLUMNS)


def conversations_csv(metric: str, value: str | None, filters: ReportFilters,
                      scope: Scope) -> Iterator[str]:
    """The drill-down list as CSV: plain rows from one server-side cursor (yield_per), in
    its own read session opened when the response starts streaming, after the request's
    unit of work (and its audit entry) is committed. The same rows as the list's pages."""

    def rows() -> Iterator[list[object]]:
        with _reading_session() as session:
            condition, _label = metrics.conversations_behind(metric, value, filters, scope)
            f = ConversationFact
            teams = dict(session.execute(select(Team.id, Team.name)).tuples().all())
            people = dict(session.execute(select(User.id, User.display_name)).tuples().all())
            if scope.pii:
                preview: Any = func.substr(Message.body, 1, derive.PREVIEW_CHARS)
            else:
                preview = f.first_message_masked  # masked when it was rolled up
            query = (select(f.conversation_id, f.created_at, f.channel, f.team_id, f.agent_id,
                            f.outcome, f.intent, f.ticket_status, f.priority, f.messages,
                            preview)
                     .where(condition)
                     .order_by(f.created_at.desc(), f.conversation_id.desc()))
            if scope.pii:
                query = query.outerjoin(Message, Message.id == f.first_customer_message_id)
            result = session.execute(query.execution_options(yield_per=EXPORT_CHUNK))
            for (conversation_id, created_at, channel, team_id, agent_id, outcome, intent,
                 ticket_status, priority, messages, text) in result.tuples():
                yield [conversation_id, created_at.isoformat(), channel, team_id,
                       cell(teams.get(team_id)) if team_id is not None else None, agent_id,
                       cell(people.get(agent_id)) if agent_id is not None else None, outcome,
                       cell(intent), ticket_status, priority, messages, cell(text)]

    return _lines(rows(), LIST_COLUMNS, escape=False)
