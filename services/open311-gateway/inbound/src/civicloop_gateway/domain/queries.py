"""What a GET may ask for, and the rules that turn its parameters into bounds (RQ-01..RQ-05, PG, UP, GEO, FX-02).

Pure: the HTTP layer hands over raw strings, these rules answer with a query or an `InvalidQuery` (a 400).
Parameters that are present but empty count as absent (G-50).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from civicloop_open311.dates import InvalidDate, ParsedDate, parse_w3c

from civicloop_gateway.domain.statuses import OPEN311_STATUSES


class InvalidQuery(ValueError):
    """A parameter whose value cannot be honoured; its text names the parameter (ER-05 style)."""


class Order(str, enum.Enum):
    newest_requested = "requested_datetime desc, service_request_id"
    oldest_updated = "updated_datetime asc, service_request_id"


@dataclass(frozen=True)
class Window:
    """`lower <= t < upper`."""

    lower: datetime
    upper: datetime


@dataclass(frozen=True)
class Near:
    lat: float
    long: float
    radius_m: float


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    number: int | None  # the page asked for, when paging was asked for (PG-02)


@dataclass(frozen=True)
class RequestQuery:
    jurisdiction_id: str
    ids: tuple[str, ...] | None = None
    service_codes: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    requested: Window | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None  # exclusive: the first instant after what the client wrote
    near: Near | None = None
    page: Page = Page(1000, 0, None)
    order: Order = Order.newest_requested
    extensions: bool = False


@dataclass(frozen=True)
class UpdatesQuery:
    jurisdiction_id: str
    window: Window
    page: Page


# -- single parameters ------------------------------------------------------------------------------------------


def present(values: Sequence[str] | None) -> list[str]:
    """The non-empty values of a parameter given once or repeated (G-50: `x=` is no `x`)."""
    return [v for v in (values or ()) if v.strip()]


def single(values: Sequence[str] | None) -> str | None:
    """The value of a single-valued parameter: the last non-empty one, stripped."""
    got = present(values)
    return got[-1].strip() if got else None


def comma_list(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """RQ-01: comma-delimited and/or repeated, spaces trimmed, duplicates dropped, order kept; None if absent."""
    items: list[str] = []
    for value in present(values):
        for part in value.split(","):
            part = part.strip()
            if part and part not in items:
                items.append(part)
    return tuple(items) or None


def statuses(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """RQ-05: only `open` and `closed` (ST-01, case-insensitive); anything else is a 400."""
    given = comma_list(values)
    if given is None:
        return None
    wanted = tuple(dict.fromkeys(s.lower() for s in given))
    bad = [s for s in wanted if s not in OPEN311_STATUSES]
    if bad:
        raise InvalidQuery(
            f"status: {', '.join(repr(b) for b in bad)} is not a status; use open and/or closed"
        )
    return wanted


def date(name: str, values: Sequence[str] | None) -> ParsedDate | None:
    text = single(values)
    if text is None:
        return None
    try:
        return parse_w3c(text)
    except InvalidDate as exc:
        raise InvalidQuery(f"{name}: {exc}") from None


def boolean(name: str, values: Sequence[str] | None) -> bool:
    text = single(values)
    if text is None:
        return False
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise InvalidQuery(f"{name}: expected true or false, got {text!r}")


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidQuery(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidQuery(f"{name}: {text!r} is not a finite number")
    return value


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidQuery(f"{name}: {text!r} is not a whole number") from None


# -- rules ------------------------------------------------------------------------------------------------------


def window(
    start: ParsedDate | None, end: ParsedDate | None, *, now: datetime, default: timedelta, widest: timedelta
) -> Window:
    """RQ-03 / FX-02: inclusive start, inclusive end (a date-only end covers its whole day).

    Neither: the `default` span up to now. Only start: `widest` from it. Only end: `widest` up to it. Both: end
    not before start and at most `widest` after it (a wider span is a 400 that says so).
    """
    if start is None:
        if end is None:
            return Window(now - default, now + timedelta(microseconds=1))
        return Window(end.start - widest, end.end_exclusive)
    if end is None:
        return Window(start.start, start.start + widest)
    if end.start < start.start:
        raise InvalidQuery("end_date is before start_date")
    if end.start - start.start > widest:
        raise InvalidQuery(f"start_date and end_date may not span more than {widest.days} days")
    return Window(start.start, end.end_exclusive)


def near(lat: str | None, long: str | None, radius: str | None, *, max_radius_m: float) -> Near | None:
    """GEO-01: `lat`, `long` and `radius` (metres) together, or none of them."""
    given = {"lat": lat, "long": long, "radius": radius}
    if all(v is None for v in given.values()):
        return None
    missing = [k for k, v in given.items() if v is None]
    if missing:
        raise InvalidQuery(f"lat, long and radius go together: {', '.join(missing)} missing")
    la, lo, r = _number("lat", lat or ""), _number("long", long or ""), _number("radius", radius or "")
    if not -90 <= la <= 90:
        raise InvalidQuery("lat: must be between -90 and 90")
    if not -180 <= lo <= 180:
        raise InvalidQuery("long: must be between -180 and 180")
    if not 0 < r <= max_radius_m:
        raise InvalidQuery(f"radius: metres, greater than 0 and at most {max_radius_m:g}")
    return Near(la, lo, r)


def page(page_text: str | None, size_text: str | None, *, cap: int) -> Page:
    """PG-02: 1-based `page`; `page_size` from 1 to the core cap, which is also its default (RQ-04)."""
    if page_text is None and size_text is None:
        return Page(cap, 0, None)
    number = _integer("page", page_text) if page_text is not None else 1
    size = _integer("page_size", size_text) if size_text is not None else cap
    if number < 1:
        raise InvalidQuery("page: pages are numbered from 1")
    if not 1 <= size <= cap:
        raise InvalidQuery(f"page_size: between 1 and {cap}")
    return Page(size, (number - 1) * size, number)


@dataclass(frozen=True)
class Limits:
    max_requests: int = 1000
    window_days: int = 90
    updates_window_hours: int = 24
    max_radius_m: float = 50_000


Params = dict[str, list[str]]


def request_query(params: Params, *, jurisdiction_id: str, now: datetime, limits: Limits) -> RequestQuery:
    """GET requests: RQ-01..RQ-05 and the extensions we advertise (PG, UP-01, GEO-01, CX-01)."""
    extensions = boolean("extensions", params.get("extensions"))
    paging = page(single(params.get("page")), single(params.get("page_size")), cap=limits.max_requests)
    ids = comma_list(params.get("service_request_id"))
    if ids is not None:
        # RQ-02: the ids override every other filter, the date window included.
        return RequestQuery(jurisdiction_id=jurisdiction_id, ids=ids, page=paging, extensions=extensions)
    start, end = date("start_date", params.get("start_date")), date("end_date", params.get("end_date"))
    after, before = (
        date("updated_after", params.get("updated_after")),
        date("updated_before", params.get("updated_before")),
    )
    widest = timedelta(days=limits.window_days)
    by_update = (after is not None or before is not None) and start is None and end is None
    if after is not None and before is not None and before.end_exclusive <= after.start:
        raise InvalidQuery("updated_before is before updated_after")
    return RequestQuery(
        jurisdiction_id=jurisdiction_id,
        service_codes=comma_list(params.get("service_code")),
        statuses=statuses(params.get("status")),
        # UP-01: an incremental sync by updated_after/updated_before is not cut to the default 90 days.
        requested=None if by_update else window(start, end, now=now, default=widest, widest=widest),
        updated_after=after.start if after else None,
        updated_before=before.end_exclusive if before else None,
        near=near(
            single(params.get("lat")),
            single(params.get("long")),
            single(params.get("radius")),
            max_radius_m=limits.max_radius_m,
        ),
        page=paging,
        order=Order.oldest_updated if by_update else Order.newest_requested,
        extensions=extensions,
    )


def updates_query(params: Params, *, jurisdiction_id: str, now: datetime, limits: Limits) -> UpdatesQuery:
    """GET servicerequestupdates (FX-01, FX-02): a window on updated_datetime, recent when no dates are given."""
    start, end = date("start_date", params.get("start_date")), date("end_date", params.get("end_date"))
    return UpdatesQuery(
        jurisdiction_id=jurisdiction_id,
        window=window(
            start,
            end,
            now=now,
            default=timedelta(hours=limits.updates_window_hours),
            widest=timedelta(days=limits.window_days),
        ),
        page=page(single(params.get("page")), single(params.get("page_size")), cap=limits.max_requests),
    )
