"""What GET /metrics serves: every process's recorded metrics, plus values read at scrape
time by the api process that answers (queue depth per team, its database pool), and who may
read them without a token."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core import metrics
from core.database import get_engine, utcnow
from handoff.models import Team, Ticket, TicketStatus

log = logging.getLogger(__name__)

UNROUTED = "unrouted"  # tickets no routing rule sent to a team


class QueueCollector(metrics.Collector):
    """Tickets waiting for an agent, per team: what handoff.routing.drain hands out (new,
    nobody has it, not merged away), and how long the oldest has waited since hand-off.

    It reads through the scrape request's session: on SQLite a second session would wait
    for the write lock the first may hold (BEGIN IMMEDIATE) until the response is sent.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterable[metrics.Metric]:
        depth = metrics.GaugeMetricFamily(
            "tandem_queue_depth", "Tickets waiting in a team's queue for an agent", labels=["team"])
        oldest = metrics.GaugeMetricFamily(
            "tandem_queue_oldest_wait_seconds",
            "Seconds the longest-waiting ticket of a team's queue has waited since hand-off "
            "(0 when the queue is empty)", labels=["team"])
        try:
            rows, teams = _queued_by_team(self.session)
        except SQLAlchemyError as exc:
            # The rest of the exposition is still worth serving; the request's session must
            # still commit cleanly.
            self.session.rollback()
            log.warning("queue metrics unavailable: %s", type(exc).__name__)
            return []
        now = utcnow()
        for team_id, slug in [(None, UNROUTED), *teams]:
            count, since = rows.get(team_id, (0, None))
            depth.add_metric([slug], count)
            oldest.add_metric([slug], (now - since).total_seconds() if since else 0.0)
        return [depth, oldest]


def _queued_by_team(session: Session) -> tuple[dict[int | None, tuple[int, datetime | None]],
                                              list[tuple[int, str]]]:
    rows = session.execute(
        select(Ticket.team_id, func.count(Ticket.id), func.min(Ticket.created_at))
        .where(Ticket.status == TicketStatus.NEW, Ticket.assignee_id.is_(None),
               Ticket.merged_into_id.is_(None))
        .group_by(Ticket.team_id)).tuples().all()
    teams = session.execute(select(Team.id, Team.slug).order_by(Team.slug)).tuples().all()
    return {team_id: (count, since) for team_id, count, since in rows}, list(teams)


class DatabasePoolCollector(metrics.Collector):
    """The SQLAlchemy pool of the api process answering this scrape (each process has its
    own pool; a scrape reaches one of them)."""

    def collect(self) -> Iterable[metrics.Metric]:
        pool = get_engine().pool
        families = []
        for name, method, documentation in (
            ("tandem_db_pool_size", "size", "Connections the pool keeps"),
            ("tandem_db_pool_checked_out", "checkedout", "Connections in use"),
            ("tandem_db_pool_overflow", "overflow",
             "Connections opened beyond the pool size (negative: pool not yet filled)"),
        ):
            read = getattr(pool, method, None)
            if callable(read):
                families.append(metrics.GaugeMetricFamily(name, documentation, value=read()))
        return families


def scrape(session: Session) -> bytes:
    return metrics.render(QueueCollector(session), DatabasePoolCollector())


def address_allowed(address: str | None, allowed: str) -> bool:
    """`allowed`: comma- or space-separated addresses and networks (10.0.0.0/8)."""
    if not address:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed.replace(",", " ").split():
        try:
            if client in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            log.warning("metrics_allow_addresses: %r is not an address or network", entry)
    return False
