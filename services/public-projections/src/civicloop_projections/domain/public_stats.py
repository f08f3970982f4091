"""The public figures' shapes and the weekly CSV's columns (docs/public.md documents each). Pure, no IO."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

# The weekly CSV, one row per (jurisdiction, ISO week, dimension, key). `dimension` is `all` (key empty: every
# request), `category` (key: the service code) or `service_area` (key: the area's name; a request in two areas
# counts in both). Weeks run Monday to Monday in the jurisdiction's time zone.
WEEKLY_COLUMNS = (
    "jurisdiction_id",
    "iso_week",
    "week_start",
    "dimension",
    "key",
    "filed",
    "resolved",
    "open_at_week_end",
    "median_hours_to_resolve",
    "sla_judged",
    "sla_on_time_share",
    "nps_responses",
    "nps",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def weekly_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as CSV text (header first; empty cells where a figure has no data, e.g. a median of nothing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WEEKLY_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in WEEKLY_COLUMNS])
    return out.getvalue()


def nps(scores: Iterable[int]) -> int | None:
    """Net Promoter Score: the share of 9s and 10s minus the share of 0 to 6, in points (-100 to 100)."""
    scores = list(scores)
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))
