"""Business-hours arithmetic: nights, weekends, holidays, both DST changes, 24/7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ValidationFailed
from handoff import business_hours as bh
from handoff.models import BusinessCalendar

WORKDAY = [["08:00", "18:00"]]


def calendar(timezone: str = "Europe/Berlin", hours: list[list[str]] | None = None,
             holidays: list[str] | None = None, days: tuple[str, ...] = (
                 "mon", "tue", "wed", "thu", "fri")) -> BusinessCalendar:
    return BusinessCalendar(name=f"test {timezone}", timezone=timezone, always_open=False,
                            weekly_hours=dict.fromkeys(days, hours or WORKDAY),
                            holidays=holidays or [])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


BERLIN = calendar(holidays=["2026-12-24", "2026-12-25", "2026-12-26"])
NEW_YORK = calendar("America/New_York", hours=[["09:00", "17:00"]])


# --- 24/7 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("always", [None, BusinessCalendar(name="24/7", timezone="UTC",
                                                           always_open=True, weekly_hours={},
                                                           holidays=[])])
def test_a_missing_or_always_open_calendar_counts_every_minute(always):
    saturday_night = utc(2026, 1, 17, 23, 30)
    assert bh.is_open(always, saturday_night)
    assert bh.next_open(always, saturday_night) == saturday_night
    assert bh.add_business_minutes(always, saturday_night, 90) == utc(2026, 1, 18, 1, 0)
    assert bh.business_minutes_between(always, saturday_night, utc(2026, 1, 18, 1, 0)) == 90
    assert bh.business_minutes_between(always, utc(2026, 1, 18), saturday_night) == 0


# --- nights, weekends, holidays --------------------------------------------------------------


def test_open_from_the_opening_minute_up_to_but_not_including_the_close():
    # Tuesday 2026-01-13, Berlin is UTC+1 in winter: open 07:00-17:00 UTC.
    assert not bh.is_open(BERLIN, utc(2026, 1, 13, 6, 59))
    assert bh.is_open(BERLIN, utc(2026, 1, 13, 7, 0))
    assert bh.is_open(BERLIN, utc(2026, 1, 13, 16, 59))
    assert not bh.is_open(BERLIN, utc(2026, 1, 13, 17, 0))


def test_a_target_set_at_night_counts_from_the_next_morning():
    tuesday_evening = utc(2026, 1, 13, 20, 0)  # 21:00 in Berlin
    assert bh.next_open(BERLIN, tuesday_evening) == utc(2026, 1, 14, 7, 0)
    assert bh.add_business_minutes(BERLIN, tuesday_evening, 60) == utc(2026, 1, 14, 8, 0)


def test_a_target_runs_over_the_weekend_into_monday():
    friday_late = utc(2026, 1, 16, 16, 30)  # 17:30 in Berlin: half an hour left
    assert bh.add_business_minutes(BERLIN, friday_late, 60) == utc(2026, 1, 19, 7, 30)
    assert bh.business_minutes_between(BERLIN, friday_late, utc(2026, 1, 19, 7, 30)) == 60
    assert not bh.is_open(BERLIN, utc(2026, 1, 17, 12, 0))  # Saturday noon


def test_a_target_that_uses_up_the_day_is_due_at_the_close_not_the_next_opening():
    friday_opening = utc(2026, 1, 16, 7, 0)
    assert bh.add_business_minutes(BERLIN, friday_opening, 600) == utc(2026, 1, 16, 17, 0)
    assert bh.add_business_minutes(BERLIN, friday_opening, 601) == utc(2026, 1, 19, 7, 1)


def test_holidays_are_closed_all_day():
    wednesday_before_christmas = utc(2026, 12, 23, 17, 0)  # 18:00: closing time
    # 24th, 25th (Fri) and 26th are holidays, then the weekend: Monday the 28th.
    assert bh.next_open(BERLIN, wednesday_before_christmas) == utc(2026, 12, 28, 7, 0)
    assert not bh.is_open(BERLIN, utc(2026, 12, 24, 10, 0))
    assert bh.add_business_minutes(BERLIN, utc(2026, 12, 23, 16, 0), 120) == \
        utc(2026, 12, 28, 8, 0)
    assert bh.business_minutes_between(BERLIN, utc(2026, 12, 23, 7, 0),
                                       utc(2026, 12, 29, 7, 0)) == 2 * 600


def test_several_intervals_a_day_leave_the_lunch_break_out():
    split = calendar("UTC", hours=[["13:00", "17:00"], ["09:00", "12:00"]])
    monday = utc(2026, 1, 12, 11, 30)
    assert not bh.is_open(split, utc(2026, 1, 12, 12, 30))
    assert bh.next_open(split, utc(2026, 1, 12, 12, 30)) == utc(2026, 1, 12, 13, 0)
    assert bh.add_business_minutes(split, monday, 60) == utc(2026, 1, 12, 13, 30)
    assert bh.business_minutes_between(split, utc(2026, 1, 12), utc(2026, 1, 13)) == 420


def test_negative_minutes_count_backwards_over_closed_time():
    monday_morning = utc(2026, 1, 19, 7, 30)
    assert bh.add_business_minutes(BERLIN, monday_morning, -60) == utc(2026, 1, 16, 16, 30)
    assert bh.signed_business_minutes(BERLIN, monday_morning, utc(2026, 1, 16, 16, 30)) == -60


# --- daylight saving time ------------------------------------------------------------------


def test_berlin_spring_forward_keeps_opening_at_eight_local():
    # Sunday 2026-03-29 02:00 CET → 03:00 CEST. Friday closes at 17:00 UTC,
    # Monday opens at 06:00 UTC.
    friday = utc(2026, 3, 27, 16, 0)
    assert bh.add_business_minutes(BERLIN, friday, 120) == utc(2026, 3, 30, 7, 0)
    assert bh.next_open(BERLIN, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 6, 0)
    assert bh.business_minutes_between(BERLIN, friday, utc(2026, 3, 30, 7, 0)) == 120


def test_berlin_fall_back_keeps_opening_at_eight_local():
    # Sunday 2026-10-25 03:00 CEST → 02:00 CET. Friday closes at 16:00 UTC,
    # Monday opens at 07:00 UTC.
    friday = utc(2026, 10, 23, 15, 0)
    assert bh.add_business_minutes(BERLIN, friday, 120) == utc(2026, 10, 26, 8, 0)
    assert bh.next_open(BERLIN, utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 26, 7, 0)


@pytest.mark.parametrize(("local_midnight", "next_local_midnight", "hours"), [
    (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), 23),  # Berlin springs forward
    (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), 25),  # Berlin falls back
])
def test_a_whole_local_day_is_as_long_as_the_clock_makes_it(local_midnight,
                                                            next_local_midnight, hours):
    sundays = calendar(hours=[["00:00", "24:00"]], days=("sun",))
    assert bh.is_open(sundays, local_midnight)
    assert bh.business_minutes_between(sundays, local_midnight,
                                       next_local_midnight + timedelta(days=3)) == hours * 60
    assert bh.add_business_minutes(sundays, local_midnight, hours * 60) == next_local_midnight
    assert not bh.is_open(sundays, next_local_midnight)  # the Monday that follows is closed


def test_new_york_spring_forward_and_fall_back():
    # 2026-03-08: EST → EDT; 2026-11-01: EDT → EST. Open 09:00-17:00 local.
    assert bh.add_business_minutes(NEW_YORK, utc(2026, 3, 6, 21, 0), 120) == \
        utc(2026, 3, 9, 14, 0)
    assert bh.add_business_minutes(NEW_YORK, utc(2026, 10, 30, 20, 0), 120) == \
        utc(2026, 11, 2, 15, 0)
    assert bh.next_open(NEW_YORK, utc(2026, 3, 7)) == utc(2026, 3, 9, 13, 0)
    assert bh.next_open(NEW_YORK, utc(2026, 10, 31)) == utc(2026, 11, 2, 14, 0)


@pytest.mark.parametrize("start", [utc(2026, 3, 27, 15, 17), utc(2026, 10, 23, 9, 5),
                                   utc(2026, 12, 23, 16, 59), utc(2026, 1, 17, 3, 0)])
@pytest.mark.parametrize("minutes", [1, 59.5, 600, 601, 3000])
def test_adding_and_measuring_agree(start, minutes):
    for cal in (BERLIN, NEW_YORK):
        due = bh.add_business_minutes(cal, start, minutes)
        assert bh.business_minutes_between(cal, start, due) == pytest.approx(minutes)
        back = bh.add_business_minutes(cal, due, -minutes)
        assert abs(back - bh.next_open(cal, start)) < timedelta(milliseconds=1)


# --- guards ---------------------------------------------------------------------------------


def test_a_calendar_without_open_hours_fails_instead_of_looping():
    never = BusinessCalendar(name="never", timezone="UTC", always_open=False,
                             weekly_hours={"mon": []}, holidays=[])
    with pytest.raises(ValidationFailed) as failure:
        bh.add_business_minutes(never, utc(2026, 1, 1), 10)
    assert failure.value.field == "weekly_hours"
    with pytest.raises(ValidationFailed):
        bh.next_open(never, utc(2026, 1, 1))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        bh.is_open(BERLIN, datetime(2026, 1, 1, 12, 0))


def test_results_are_utc():
    due = bh.add_business_minutes(BERLIN, utc(2026, 1, 13, 20, 0), 60)
    assert due.tzinfo is UTC


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(("weekly", "field"), [
    ({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, "weekly_hours.mon"),
    ({"tue": [["17:00", "09:00"]]}, "weekly_hours.tue"),
    ({"wed": [["25:00", "26:00"]]}, "weekly_hours.wed"),
    ({"thu": [["9:00", "17:00"]]}, "weekly_hours.thu"),
    ({"fri": [["09:00"]]}, "weekly_hours.fri"),
    ({"monday": [["09:00", "17:00"]]}, "weekly_hours"),
])
def test_weekly_hours_validation_names_the_day(weekly, field):
    with pytest.raises(ValidationFailed) as failure:
        bh.validate_weekly_hours(weekly)
    assert failure.value.field == field


def test_weekly_hours_are_normalised_sorted_and_may_end_at_midnight():
    hours = bh.validate_weekly_hours({"mon": [["13:00", "24:00"], ["08:00", "12:00"]]})
    assert hours["mon"] == [["08:00", "12:00"], ["13:00", "24:00"]]
    assert hours["sun"] == []


def test_time_zone_and_holiday_validation():
    assert bh.validate_timezone("America/New_York") == "America/New_York"
    with pytest.raises(ValidationFailed) as failure:
        bh.validate_timezone("Mars/Olympus_Mons")
    assert failure.value.field == "timezone"
    assert bh.validate_holidays(["2026-12-25", "2026-01-01", "2026-12-25"]) == \
        ["2026-01-01", "2026-12-25"]
    with pytest.raises(ValidationFailed) as failure:
        bh.validate_holidays(["25.12.2026"])
    assert failure.value.field == "holidays"
