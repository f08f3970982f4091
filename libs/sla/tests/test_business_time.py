"""Business time: a working week in the jurisdiction's zone, less holidays, across weekends and clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from civicloop_events.payloads import Holiday, OpeningHours, Weekday
from civicloop_sla.business_time import (
    AROUND_THE_CLOCK,
    BusinessCalendar,
    UnknownTimeZone,
)
from hypothesis import given, settings
from hypothesis import strategies as st

CHICAGO = ZoneInfo("America/Chicago")
WORKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]
THANKSGIVING = date(2026, 11, 26)  # a Thursday
H = timedelta(hours=1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def eight_to_five(holidays: tuple[date, ...] = (THANKSGIVING,)) -> BusinessCalendar:
    return BusinessCalendar.of(
        "America/Chicago",
        [OpeningHours(day=d, opens="08:00", closes="17:00") for d in WORKDAYS],
        [Holiday(date=d, name="holiday") for d in holidays],
    )


def every_hour_of_every_day(zone: str = "America/Chicago") -> BusinessCalendar:
    return BusinessCalendar.of(zone, [OpeningHours(day=d, opens="00:00", closes="24:00") for d in Weekday])


def test_time_inside_one_working_day_is_what_the_clock_shows():
    assert eight_to_five().between(local(2026, 11, 16, 9, 0), local(2026, 11, 16, 11, 30)) == 2.5 * H


def test_a_weekend_does_not_count():
    calendar = eight_to_five()
    friday_four, monday_nine = local(2026, 11, 13, 16, 0), local(2026, 11, 16, 9, 0)
    assert calendar.between(friday_four, monday_nine) == 2 * H
    assert calendar.add(friday_four, 2 * H) == monday_nine


def test_a_holiday_does_not_count():
    calendar = eight_to_five()
    wednesday_four = local(2026, 11, 25, 16, 0)
    assert calendar.add(wednesday_four, 2 * H) == local(2026, 11, 27, 9, 0)  # Thanksgiving skipped
    assert calendar.between(wednesday_four, local(2026, 11, 27, 8, 0)) == 1 * H
    assert not calendar.is_open(local(2026, 11, 26, 10, 0))
    assert eight_to_five(holidays=()).is_open(local(2026, 11, 26, 10, 0))


def test_a_deadline_that_uses_up_the_day_falls_at_closing_time():
    assert eight_to_five().add(local(2026, 11, 16, 8, 0), 9 * H) == local(2026, 11, 16, 17, 0)


def test_counting_from_outside_hours_starts_at_the_next_opening():
    calendar = eight_to_five()
    assert calendar.add(local(2026, 11, 14, 10, 0), 1 * H) == local(2026, 11, 16, 9, 0)  # a Saturday
    assert calendar.add(local(2026, 11, 16, 19, 0), 30 * timedelta(minutes=1)) == local(2026, 11, 17, 8, 30)
    assert calendar.between(local(2026, 11, 14, 10, 0), local(2026, 11, 15, 23, 0)) == timedelta()


def test_split_days_count_only_their_spans():
    calendar = BusinessCalendar.of(
        "Europe/Paris",
        [
            OpeningHours(day=Weekday.monday, opens="13:00", closes="17:00"),
            OpeningHours(day=Weekday.monday, opens="08:00", closes="12:00"),
        ],
    )
    paris = ZoneInfo("Europe/Paris")
    monday = datetime(2026, 11, 16, 11, 0, tzinfo=paris)
    assert calendar.add(monday, 2 * H) == datetime(2026, 11, 16, 14, 0, tzinfo=paris)
    assert (
        calendar.between(monday, datetime(2026, 11, 23, 11, 0, tzinfo=paris)) == 8 * H
    )  # one Monday's worth


def test_days_on_which_the_clocks_change_count_the_hours_that_passed():
    calendar = every_hour_of_every_day()
    # 2026: the US springs forward on Sunday 8 March, falls back on Sunday 1 November.
    assert calendar.between(local(2026, 3, 8, 0, 0), local(2026, 3, 9, 0, 0)) == 23 * H
    assert calendar.between(local(2026, 11, 1, 0, 0), local(2026, 11, 2, 0, 0)) == 25 * H
    assert calendar.add(local(2026, 3, 8, 0, 0), 24 * H) == local(2026, 3, 9, 1, 0)


def test_business_hours_across_a_clock_change_weekend_keep_their_wall_times():
    calendar = eight_to_five()
    friday_four = local(2026, 3, 6, 16, 0)  # CST, UTC-6
    due = calendar.add(friday_four, 3 * H)
    assert due == local(2026, 3, 9, 10, 0)  # CDT, UTC-5: still ten o'clock on the wall
    assert due.astimezone(UTC).hour == 15
    assert calendar.between(friday_four, due) == 3 * H


def test_a_span_the_clocks_skip_counts_nothing_and_one_they_repeat_counts_twice():
    skipped = BusinessCalendar.of(
        "America/Chicago", [OpeningHours(day=Weekday.sunday, opens="02:00", closes="03:00")]
    )
    assert skipped.between(local(2026, 3, 8, 0, 0), local(2026, 3, 9, 0, 0)) == timedelta()
    assert skipped.between(local(2026, 3, 15, 0, 0), local(2026, 3, 16, 0, 0)) == 1 * H
    repeated = BusinessCalendar.of(
        "America/Chicago", [OpeningHours(day=Weekday.sunday, opens="01:00", closes="02:00")]
    )
    assert repeated.between(local(2026, 11, 1, 0, 0), local(2026, 11, 2, 0, 0)) == 2 * H


def test_nothing_is_counted_backwards():
    calendar = eight_to_five()
    assert calendar.between(local(2026, 11, 16, 12, 0), local(2026, 11, 16, 10, 0)) == timedelta()
    assert calendar.add(local(2026, 11, 14, 12, 0), timedelta()) == local(2026, 11, 14, 12, 0)


def test_around_the_clock_counts_every_hour():
    start = local(2026, 11, 13, 16, 0)
    assert AROUND_THE_CLOCK.between(start, local(2026, 11, 16, 9, 0)) == 65 * H
    assert AROUND_THE_CLOCK.add(start, 2 * H) == local(2026, 11, 13, 18, 0)
    assert AROUND_THE_CLOCK.is_open(local(2026, 11, 26, 3, 0))


def test_an_unknown_zone_and_a_naive_instant_are_refused():
    hours = [OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")]
    for name in ("Mars/Olympus_Mons", "America"):
        with pytest.raises(UnknownTimeZone):
            BusinessCalendar.of(name, hours)
    with pytest.raises(ValueError, match="aware"):
        eight_to_five().between(datetime(2026, 11, 16, 9, 0), local(2026, 11, 16, 10, 0))


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
durations = st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=200, deadline=None)
@given(start=instants, duration=durations)
def test_the_deadline_is_the_first_instant_that_much_business_time_away(start: datetime, duration: timedelta):
    calendar = eight_to_five()
    due = calendar.add(start, duration)
    assert calendar.between(start, due) == duration
    if duration:
        assert calendar.between(start, due - timedelta(microseconds=1)) < duration


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_business_time_adds_up_over_consecutive_stretches(a: datetime, b: datetime, c: datetime):
    a, b, c = sorted((a, b, c))
    calendar = eight_to_five()
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)
