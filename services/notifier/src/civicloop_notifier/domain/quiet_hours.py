"""Quiet hours: a jurisdiction's nightly window, in its own time zone, during which messages wait (never dropped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` local time (a window may cross midnight, e.g. 21:00 to 08:00), in `time_zone`."""

    time_zone: str
    start: time
    end: time

    def __post_init__(self) -> None:
        ZoneInfo(self.time_zone)  # an unknown zone fails at configuration, not at 3 a.m.

    def _quiet_at(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release_at(self, now: datetime) -> datetime:
        """`now` when messages may go now; otherwise the end of the quiet window (an aware datetime in UTC's
        offset of `now`), at which waiting messages go out."""
        zone = ZoneInfo(self.time_zone)
        local = now.astimezone(zone)
        if not self._quiet_at(local.timetz().replace(tzinfo=None)):
            return now
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        # The wall-clock end on that day in the zone; fold=0 picks the first of an ambiguous hour (DST ending).
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(now.tzinfo)
