"""Time counted in a jurisdiction's business hours: its working week in its own time zone, less its holidays.

Opening hours are local wall times; each day's spans become instants through `zoneinfo`, so a day on which the
clocks change counts the hours that really passed (a 00:00-24:00 day is 23 or 25 hours long then), and every
duration is measured between UTC instants. A wall time the clocks skip reads with the offset before the change
(PEP 495, `fold=0`), so a span that starts inside the gap starts when the clocks jumped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civicloop_events.payloads import Holiday, OpeningHours, Weekday

WEEKDAY_NUMBERS = {day: number for number, day in enumerate(Weekday)}  # Monday is 0, as `date.weekday()` says
MINUTES_PER_DAY = 24 * 60


class UnknownTimeZone(ValueError):
    """The definition names a time zone this installation's tz database does not have."""


def _minutes(wall_time: str) -> int:
    hours, minutes = wall_time.split(":")
    return int(hours) * 60 + int(minutes)


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: a folder of zones, not a zone
        raise UnknownTimeZone(name) from error


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("business time is measured between aware instants")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a jurisdiction works: per weekday its spans (minutes from local midnight), and its closed days."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]  # seven days from Monday, each its sorted (opens, closes)
    holidays: frozenset[date]

    @classmethod
    def of(
        cls, zone_name: str, opening_hours: Iterable[OpeningHours], holidays: Iterable[Holiday] = ()
    ) -> BusinessCalendar:
        spans: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for span in opening_hours:
            spans[WEEKDAY_NUMBERS[span.day]].append((_minutes(span.opens), _minutes(span.closes)))
        if not any(spans):
            raise ValueError("a working week needs at least one span of opening hours")
        return cls(
            zone=time_zone(zone_name),
            week=tuple(tuple(sorted(day)) for day in spans),
            holidays=frozenset(h.date for h in holidays),
        )

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _instant(self, day: date, minute: int) -> datetime:
        """The UTC instant of a local wall time (minute 1440 is the next day's midnight)."""
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def spans_of(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's open spans as UTC instants: none on a holiday; a span the clocks erased is left out."""
        return _spans_of(self, day)

    def is_open(self, instant: datetime) -> bool:
        at = _aware(instant)
        return any(start <= at < end for start, end in self.spans_of(self._local_date(at)))

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (nothing when `end` is not after `start`)."""
        start, end = _aware(start), _aware(end)
        counted = timedelta()
        if end <= start:
            return counted
        day, last = self._local_date(start), self._local_date(end)
        while day <= last:
            for opens, closes in self.spans_of(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta():
                    counted += overlap
            day += timedelta(days=1)
        return counted

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of business time from `start` has passed: a deadline that falls at a
        closing time stays there (not the next opening), and one counted from outside hours starts at the next
        opening."""
        start = _aware(start)
        remaining = duration
        if remaining <= timedelta():
            return start
        day = self._local_date(start)
        # The week has open hours, and holidays are finitely many, so the walk ends; the bound guards a
        # calendar that somehow holds none (every day a holiday for years).
        for _ in range(len(self.holidays) + 8 + 7 * (remaining // timedelta(minutes=1) + 1)):
            for opens, closes in self.spans_of(day):
                opens = max(opens, start)
                if closes <= opens:
                    continue
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
            day += timedelta(days=1)
        raise ValueError("the calendar has no open hours to count")


@lru_cache(maxsize=1 << 16)
def _spans_of(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    # Cached: a request open for months walks every day since its submission each time it is judged, and turning
    # wall times into instants is most of that walk's cost. The calendar is frozen, so a day's spans never change.
    if day in calendar.holidays:
        return ()
    spans = (
        (calendar._instant(day, opens), calendar._instant(day, closes))
        for opens, closes in calendar.week[day.weekday()]
    )
    return tuple((start, end) for start, end in spans if end > start)


@dataclass(frozen=True)
class AroundTheClock:
    """Every hour counts, holidays and nights included."""

    def is_open(self, instant: datetime) -> bool:
        _aware(instant)
        return True

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(_aware(end) - _aware(start), timedelta())

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return _aware(start) + max(duration, timedelta())


AROUND_THE_CLOCK = AroundTheClock()
