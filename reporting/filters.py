"""The filters every report, drill-down and export takes, parsed and checked in one place.

Dates are local calendar dates in `tz`, both inclusive: `start=2026-11-01&end=2026-11-30`
means from 2026-11-01 00:00 to 2026-12-01 00:00 in that time zone. A report filtered by date
counts conversations by the conversation's own creation time (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.service import KNOWN_CHANNELS
from core.auth.models import User
from core.database import DbSession, utcnow
from core.errors import ValidationFailed
from handoff.models import Priority, Team

DEFAULT_DAYS = 30
MAX_DAYS = 366
DEFAULT_TIMEZONE = "UTC"
MAX_INTENT_CHARS = 80
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class ReportFilters:
    start: date
    end: date  # inclusive
    tz: str = DEFAULT_TIMEZONE
    team_id: int | None = None
    agent_id: int | None = None
    channel: str | None = None
    intent: str | None = None
    priority: str | None = None
    business_hours: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def starts_at(self) -> datetime:
        """The first instant of `start` in `tz`, as UTC."""
        return local_midnight(self.start, self.zone)

    @property
    def ends_before(self) -> datetime:
        """The first instant after `end` in `tz`, as UTC (the range is half-open)."""
        return local_midnight(self.end + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def with_agent(self, agent_id: int | None) -> ReportFilters:
        return replace(self, agent_id=agent_id)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the report's echo and the export's audit entry."""
        values = asdict(self)
        values["start"], values["end"] = self.start.isoformat(), self.end.isoformat()
        return values

    def query_string_items(self) -> dict[str, str]:
        """The filters as they are written in a URL (unset ones left out)."""
        items = {k: str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in self.as_dict().items() if v is not None}
        if not self.business_hours:
            items.pop("business_hours", None)
        return items


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone '{name}'; use an IANA name such as "
                               "'Europe/Berlin'", field="tz") from None
    return name


def _parse_date(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field} must be a date in YYYY-MM-DD form", field=field) from None


def build_filters(session: Session, *, start: str | None = None, end: str | None = None,
                  tz: str | None = None, team_id: int | None = None,
                  agent_id: int | None = None, channel: str | None = None,
                  intent: str | None = None, priority: str | None = None,
                  business_hours: bool = False, today: date | None = None) -> ReportFilters:
    """Check every filter; an unknown value answers 422 naming its field."""
    zone_name = check_timezone(tz or DEFAULT_TIMEZONE)
    local_today = today or utcnow().astimezone(ZoneInfo(zone_name)).date()
    first, last = _parse_date(start, "start"), _parse_date(end, "end")
    if last is None:
        last = local_today if first is None else min(first + timedelta(days=DEFAULT_DAYS - 1),
                                                     local_today)
        last = max(last, first or last)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    for value, field in ((first, "start"), (last, "end")):
        if not EARLIEST <= value <= LATEST:
            raise ValidationFailed(f"{field} must be between {EARLIEST} and {LATEST}",
                                   field=field)
    if last < first:
        raise ValidationFailed("end is before start", field="end")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"the date range is longer than {MAX_DAYS} days", field="end")
    if channel is not None and channel not in KNOWN_CHANNELS:
        raise ValidationFailed(f"unknown channel '{channel}'; use one of "
                               f"{', '.join(sorted(KNOWN_CHANNELS))}", field="channel")
    if priority is not None and priority not in set(Priority):
        raise ValidationFailed(f"unknown priority '{priority}'; use one of "
                               f"{', '.join(Priority)}", field="priority")
    if intent is not None and (not intent.strip() or len(intent) > MAX_INTENT_CHARS):
        raise ValidationFailed(f"intent must be 1 to {MAX_INTENT_CHARS} characters",
                               field="intent")
    if team_id is not None and session.scalar(select(Team.id).where(Team.id == team_id)) is None:
        raise ValidationFailed(f"team {team_id} does not exist", field="team_id")
    if agent_id is not None and session.scalar(
            select(User.id).where(User.id == agent_id)) is None:
        raise ValidationFailed(f"agent {agent_id} does not exist", field="agent_id")
    return ReportFilters(start=first, end=last, tz=zone_name, team_id=team_id,
                         agent_id=agent_id, channel=channel,
                         intent=intent.strip() if intent else None, priority=priority,
                         business_hours=business_hours)


def filters_dependency(
    session: DbSession,
    start: Annotated[str | None, Query(description="first local date, YYYY-MM-DD "
                                                   "(default: 30 days before end)",
                                       max_length=10)] = None,
    end: Annotated[str | None, Query(description="last local date, inclusive (default: today)",
                                     max_length=10)] = None,
    tz: Annotated[str | None, Query(description="IANA time zone of the dates, hours and "
                                                "weekdays (default UTC)", max_length=64)] = None,
    team_id: Annotated[int | None, Query(description="only this team's conversations")] = None,
    agent_id: Annotated[int | None, Query(description="only this agent's tickets")] = None,
    channel: Annotated[str | None, Query(description="widget, rest or email",
                                         max_length=20)] = None,
    intent: Annotated[str | None, Query(description="the intent the bot detected",
                                        max_length=MAX_INTENT_CHARS)] = None,
    priority: Annotated[str | None, Query(description="low, normal, high or urgent",
                                          max_length=10)] = None,
    business_hours: Annotated[bool, Query(description="durations in the team's business "
                                                      "hours instead of wall-clock time")] = False,
) -> ReportFilters:
    return build_filters(session, start=start, end=end, tz=tz, team_id=team_id,
                         agent_id=agent_id, channel=channel, intent=intent, priority=priority,
                         business_hours=business_hours)



Filters = Annotated[ReportFilters, Depends(filters_dependency)]
