"""W3C dates (G-40, G-41): seconds precision with an offset on output; lenient, zone-aware parsing on input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

W3C_OUTPUT = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$"
)  # G-40 [ADAPTER Schema.pm]

_INPUT = re.compile(
    r"""^(?P<year>\d{4})
        (?:-(?P<month>\d{2})
          (?:-(?P<day>\d{2})
            (?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})
              (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
              \s*(?P<zone>Z|z|[+\- ]\d{2}(?::?\d{2})?)?
            )?
          )?
        )?$""",
    re.VERBOSE,
)


class InvalidDate(ValueError):
    """Text that is not a W3C date-time (a 400, G-41)."""


def format_w3c(value: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDThh:mm:ssZ` in UTC (G-40); a naive one is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Open311 datetimes must carry a timezone (G-40)")
    return value.astimezone(UTC).replace(microsecond=0).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ParsedDate:
    """The first instant of what was written, and the first instant after it (`2024-05` covers all of May)."""

    start: datetime
    end_exclusive: datetime

    @property
    def last(self) -> datetime:
        """The last instant the text covers, for an inclusive upper bound (`end_date=2024-05-31` includes that day)."""
        return self.end_exclusive - timedelta(microseconds=1)


def _zone(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC  # lenient: a time without a zone is read as UTC (G-41 TOLERATE)
    sign = -1 if text[0] == "-" else 1  # a space is a `+` the query string decoded (G-41)
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise InvalidDate(f"bad timezone offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_w3c(text: str) -> ParsedDate:
    """Parse the W3C note's profile of ISO 8601, from `YYYY` to `YYYY-MM-DDThh:mm:ss.sTZD` (G-41).

    Accepted beyond the strict profile: a space for `T`, a space for a `+` lost in the query string, offsets
    without a colon or minutes, and a missing zone (read as UTC).
    """
    m = _INPUT.match(text.strip())
    if not m:
        raise InvalidDate(f"not a W3C date-time: {text!r} (expected e.g. 2010-01-01T00:00:00Z)")
    g = m.groupdict()
    tz = _zone(g["zone"])
    try:
        year = int(g["year"])
        if g["month"] is None:
            start = datetime(year, 1, 1, tzinfo=tz)
            return ParsedDate(start, start.replace(year=year + 1))
        month = int(g["month"])
        if g["day"] is None:
            start = datetime(year, month, 1, tzinfo=tz)
            nxt = start.replace(year=year + 1, month=1) if month == 12 else start.replace(month=month + 1)
            return ParsedDate(start, nxt)
        day = int(g["day"])
        if g["hour"] is None:
            start = datetime(year, month, day, tzinfo=tz)
            return ParsedDate(start, start + timedelta(days=1))
        hour, minute = int(g["hour"]), int(g["minute"])
        if g["second"] is None:
            start = datetime(year, month, day, hour, minute, tzinfo=tz)
            return ParsedDate(start, start + timedelta(minutes=1))
        micro = int((g["fraction"] or "0")[:6].ljust(6, "0"))
        start = datetime(year, month, day, hour, minute, int(g["second"]), micro, tzinfo=tz)
        step = timedelta(microseconds=1) if g["fraction"] else timedelta(seconds=1)
        return ParsedDate(start, start + step)
    except (ValueError, OverflowError) as exc:
        raise InvalidDate(f"not a valid date: {text!r} ({exc})") from None
