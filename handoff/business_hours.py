"""Business-hours arithmetic on a calendar (time zone, weekly hours, holidays).

`None` as a calendar, or one with `always_open`, means 24/7. All datetimes in and out are
timezone-aware UTC.

Weekly hours are local wall-clock intervals, so each day's intervals are converted to UTC
on their own date: a DST change moves them in UTC, and a day's "08:00"-"18:00" stays ten
hours long, while "00:00"-"24:00" on a change day is 23 or 25 hours. A local time that a
spring-forward skips resolves as zoneinfo's fold=0 does (the offset before the change).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationFailed
from handoff.models import BusinessCalendar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = "24:00"


def is_open(calendar: BusinessCalendar | None, at: datetime) -> bool:
    _require_aware(at)
    if _always_open(calendar):
        return True
    assert calendar is not None
    start, _ = next(_intervals_forward(calendar, at))
    return start <= at


def next_open(calendar: BusinessCalendar | None, at: datetime) -> datetime:
    """`at` itself when open, else the start of the next open interval."""
    _require_aware(at)
    if _always_open(calendar):
        return at.astimezone(UTC)
    assert calendar is not None
    start, _ = next(_intervals_forward(calendar, at))
    return max(start, at).astimezone(UTC)


def add_business_minutes(calendar: BusinessCalendar | None, start: datetime,
                         minutes: float) -> datetime:
    """The moment `minutes` of open time after `start` (before it, when negative).

    A target that uses up an interval exactly ends at that interval's close (Friday 18:00),
    not at the next opening. Zero minutes is `start` itself.
    """
    _require_aware(start)
    if minutes == 0:
        return start.astimezone(UTC)
    if _always_open(calendar):
        return (start + timedelta(minutes=minutes)).astimezone(UTC)
    assert calendar is not None
    remaining = abs(minutes)
    if minutes > 0:
        for opens, closes in _intervals_forward(calendar, start):
            opens = max(opens, start)
            available = (closes - opens).total_seconds() / 60
            if remaining <= available:
                return (opens + timedelta(minutes=remaining)).astimezone(UTC)
            remaining -= available
    else:
        for opens, closes in _intervals_backward(calendar, start):
            closes = min(closes, start)
            available = (closes - opens).total_seconds() / 60
            if remaining <= available:
                return (closes - timedelta(minutes=remaining)).astimezone(UTC)
            remaining -= available
    raise AssertionError("the interval iterators are endless or raise")  # pragma: no cover


def business_minutes_between(calendar: BusinessCalendar | None, start: datetime,
                             end: datetime) -> float:
    """Open minutes in [start, end); 0 when `end` is not after `start`."""
    _require_aware(start)
    _require_aware(end)
    if end <= start:
        return 0.0
    if _always_open(calendar):
        return (end - start).total_seconds() / 60
    assert calendar is not None
    total = 0.0
    for opens, closes in _intervals_forward(calendar, start):
        if opens >= end:
            break
        total += (min(closes, end) - max(opens, start)).total_seconds() / 60
    return total


def signed_business_minutes(calendar: BusinessCalendar | None, start: datetime,
                            end: datetime) -> float:
    """Open minutes from `start` to `end`, negative when `end` comes first."""
    if end >= start:
        return business_minutes_between(calendar, start, end)
    return -business_minutes_between(calendar, end, start)


# --- validation ---------------------------------------------------------------------------


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone '{name}'", field="timezone") from None
    return name


def validate_weekly_hours(weekly_hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Every weekday key (missing ones become closed days), "HH:MM" pairs, each interval
    ordered, a day's intervals not overlapping. Returns them normalised and sorted."""
    unknown = sorted(set(weekly_hours) - set(WEEKDAYS))
    if unknown:
        raise ValidationFailed(f"unknown weekday(s) {unknown}; use {list(WEEKDAYS)}",
                               field="weekly_hours")
    normalised: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        intervals: list[tuple[int, int]] = []
        for interval in weekly_hours.get(day) or []:
            field = f"weekly_hours.{day}"
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValidationFailed("each interval is a pair [\"HH:MM\", \"HH:MM\"]",
                                       field=field)
            opens, closes = (_minute_of_day(value, field) for value in interval)
            if opens >= closes:
                raise ValidationFailed(
                    f"interval {interval[0]}-{interval[1]} must end after it starts", field=field)
            intervals.append((opens, closes))
        intervals.sort()
        for (_, earlier_close), (later_open, _) in pairwise(intervals):
            if later_open < earlier_close:
                raise ValidationFailed("intervals overlap", field=f"weekly_hours.{day}")
        normalised[day] = [[_format_minute(o), _format_minute(c)] for o, c in intervals]
    return normalised


def validate_holidays(holidays: list[str]) -> list[str]:
    parsed: set[date] = set()
    for value in holidays:
        try:
            parsed.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise ValidationFailed(f"holiday '{value}' is not a YYYY-MM-DD date",
                                   field="holidays") from None
    return [day.isoformat() for day in sorted(parsed)]


def has_open_hours(weekly_hours: dict[str, list[list[str]]]) -> bool:
    return any(weekly_hours.get(day) for day in WEEKDAYS)


def _minute_of_day(value: object, field: str) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValidationFailed(f"'{value}' is not a time in HH:MM", field=field)
    if value == END_OF_DAY:
        return 24 * 60
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"'{value}' is not a time in HH:MM", field=field) from None
    return parsed.hour * 60 + parsed.minute


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --- the calendar as a stream of open intervals -------------------------------------------


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("business-hours arithmetic needs timezone-aware datetimes")


def _always_open(calendar: BusinessCalendar | None) -> bool:
    return calendar is None or bool(calendar.always_open)


def _day_intervals(calendar: BusinessCalendar, zone: ZoneInfo, holidays: set[str],
                   day: date) -> list[tuple[datetime, datetime]]:
    """The open intervals of one local date, in UTC, in order."""
    if day.isoformat() in holidays:
        return []
    intervals = []
    for opens_text, closes_text in (calendar.weekly_hours or {}).get(WEEKDAYS[day.weekday()],
                                                                      []):
        opens = _local_moment(zone, day, opens_text)
        closes = _local_moment(zone, day, closes_text)
        if opens < closes:  # a span a DST change swallowed whole is no open time
            intervals.append((opens, closes))
    return sorted(intervals)


def _local_moment(zone: ZoneInfo, day: date, clock: str) -> datetime:
    if clock == END_OF_DAY:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=zone).astimezone(UTC)


def _days(calendar: BusinessCalendar, at: datetime,
          step: int) -> Iterator[list[tuple[datetime, datetime]]]:
    """Each local day's intervals from the day of `at` on, forward (step 1) or back (-1).

    A calendar that never opens would loop forever: no weekly hours at all fails at once,
    and more scheduled days closed in a row than there are holidays proves the same."""
    weekly_hours = calendar.weekly_hours or {}
    if not has_open_hours(weekly_hours):
        raise ValidationFailed(f"calendar '{calendar.name}' has no open hours",
                               field="weekly_hours")
    zone = ZoneInfo(calendar.timezone)
    holidays = set(calendar.holidays or [])
    day = at.astimezone(zone).date()
    closed_scheduled_days = 0
    while True:
        intervals = _day_intervals(calendar, zone, holidays, day)
        if intervals:
            closed_scheduled_days = 0
        elif weekly_hours.get(WEEKDAYS[day.weekday()]):
            closed_scheduled_days += 1
            if closed_scheduled_days > len(holidays) + 1:
                raise ValidationFailed(f"calendar '{calendar.name}' never opens",
                                       field="weekly_hours")
        yield intervals
        day += timedelta(days=step)


def _intervals_forward(calendar: BusinessCalendar,
                       at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals that end after `at`, earliest first (the first may contain `at`)."""
    for intervals in _days(calendar, at, 1):
        for opens, closes in intervals:
            if closes > at:
                yield opens, closes


def _intervals_backward(calendar: BusinessCalendar,
                        at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals that start before `at`, latest first (the first may contain `at`)."""
    for intervals in _days(calendar, at, -1):
        for opens, closes in reversed(intervals):
            if opens < at:
                yield opens, closes
