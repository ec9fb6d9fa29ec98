"""Report figures. Each metric has one definition, written in docs/metrics.md."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, SenderType
from core.database import utcnow
from handoff.models import ACTIVE_STATUSES, Team, Ticket
from reporting.access import Scope
from reporting.filters import ReportFilters
from reporting.schemas import (
    AppliedFilters,
    Figure,
    HeatCell,
    ReportMeta,
    VolumeBucket,
    VolumeReport,
)

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NO_TEAM = "none"


def meta(filters: ReportFilters, scope: Scope, pending: int = 0) -> ReportMeta:
    return ReportMeta(filters=AppliedFilters(**filters.as_dict()), generated_at=utcnow(),
                      pending_refresh=pending, team_scope=scope.sorted_teams())


def figure(metric: str, label: str, amount: float | None, conversations: int,
           value: str | None = None, unit: str = "count") -> Figure:
    return Figure(metric=metric, value=value, label=label, amount=amount, unit=unit,
                  conversations=conversations)


def _team_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Team.id, Team.name)).tuples().all())


def volume_report(session: Session, filters: ReportFilters, scope: Scope) -> VolumeReport:
    latest = (select(Ticket.conversation_id, func.max(Ticket.id).label("ticket_id"))
              .group_by(Ticket.conversation_id).subquery())
    counts = (select(Message.conversation_id, func.count().label("n"),
                     func.count().filter(Message.sender_type == SenderType.CUSTOMER)
                     .label("customer"))
              .group_by(Message.conversation_id).subquery())
    query = (select(Conversation.created_at, Conversation.channel, Ticket.team_id,
                    func.coalesce(counts.c.n, 0), func.coalesce(counts.c.customer, 0))
             .outerjoin(latest, latest.c.conversation_id == Conversation.id)
             .outerjoin(Ticket, Ticket.id == latest.c.ticket_id)
             .outerjoin(counts, counts.c.conversation_id == Conversation.id)
             .where(Conversation.created_at >= filters.starts_at,
                    Conversation.created_at < filters.ends_before))
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.team_id is not None:
        query = query.where(Ticket.team_id == filters.team_id)
    if scope.team_ids is not None:
        query = query.where(or_(Ticket.team_id.is_(None), Ticket.team_id.in_(scope.team_ids)))
    rows = session.execute(query).tuples().all()
    return _volume_from_rows(session, filters, scope, [
        (created, channel, team, n, customer) for created, channel, team, n, customer in rows])


def _volume_from_rows(session: Session, filters: ReportFilters, scope: Scope,
                      rows: list[tuple[datetime, str, int | None, int, int]]) -> VolumeReport:
    zone = filters.zone
    conv: Counter[tuple[str, Any]] = Counter()
    msgs: Counter[tuple[str, Any]] = Counter()
    total_messages = total_customer = 0
    for created, channel, team, n, customer in rows:
        local = created.astimezone(zone)
        keys = [("channel", channel), ("team", team), ("day", local.date().isoformat()),
                ("hour", local.hour), ("heat", (local.weekday(), local.hour))]
        for key in keys:
            conv[key] += 1
            msgs[key] += n
        total_messages += n
        total_customer += customer
    teams = _team_names(session)

    def bucket(kind: str, key: Any, value: str, label: str, metric: str) -> VolumeBucket:
        return VolumeBucket(
            key=value, label=label,
            conversations=figure(metric, label, conv[(kind, key)], conv[(kind, key)], value),
            messages=figure(metric, label, msgs[(kind, key)], conv[(kind, key)], value))

    channels = sorted({c for kind, c in conv if kind == "channel"})
    team_keys = sorted({t for kind, t in conv if kind == "team"},
                       key=lambda t: (t is None, teams.get(t, "") if t is not None else ""))
    total = len(rows)
    backlog_query = select(Ticket.status, func.count()).where(
        Ticket.status.in_(ACTIVE_STATUSES), Ticket.merged_into_id.is_(None)).group_by(
        Ticket.status)
    backlog = dict(session.execute(backlog_query).tuples().all())
    return VolumeReport(
        meta=meta(filters, scope),
        conversations=figure("volume.conversations", "Conversations", total, total),
        messages=figure("volume.conversations", "Messages", total_messages, total),
        customer_messages=figure("volume.conversations", "Customer messages", total_customer,
                                 total),
        by_channel=[bucket("channel", c, c, c, "volume.channel") for c in channels],
        by_team=[bucket("team", t, str(t) if t is not None else NO_TEAM,
                        teams.get(t, f"Team {t}") if t is not None else "No team",
                        "volume.team") for t in team_keys],
        by_day=[bucket("day", d.isoformat(), d.isoformat(), d.isoformat(), "volume.day")
                for d in filters.days()],
        by_hour=[bucket("hour", h, str(h), f"{h:02d}:00", "volume.hour") for h in range(24)],
        heatmap=[HeatCell(weekday=w, hour=h, conversations=figure(
            "volume.heatmap", f"{WEEKDAY_NAMES[w]} {h:02d}:00", conv[("heat", (w, h))],
            conv[("heat", (w, h))], f"{w}:{h}")) for w in range(7) for h in range(24)],
        backlog=[figure("volume.backlog", str(s), backlog.get(str(s), 0), backlog.get(str(s), 0),
                        str(s)) for s in ("new", "open", "pending", "on_hold")],
    )
