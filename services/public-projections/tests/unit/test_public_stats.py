"""The public figures' pure parts: NPS, the weekly CSV's shape, the map's circles."""

from __future__ import annotations

import csv
import io

import pytest
from civicloop_projections.domain.public_map import dots
from civicloop_projections.domain.public_stats import WEEKLY_COLUMNS, nps, weekly_csv


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([], None), ([10, 9, 3], 33), ([0, 6, 7, 8], -50), ([9, 10], 100), ([7, 8], 0)],
)
def test_nps_is_promoters_minus_detractors(scores: list[int], expected: int | None) -> None:
    assert nps(scores) == expected


def test_weekly_csv_has_the_documented_columns_and_empty_cells_for_no_data() -> None:
    row = dict.fromkeys(WEEKLY_COLUMNS)
    row |= {"jurisdiction_id": "j", "iso_week": "2026-W10", "dimension": "all", "key": "", "filed": 3}
    row |= {"median_hours_to_resolve": 1.23456, "sla_on_time_share": 0.5}
    (parsed,) = list(csv.DictReader(io.StringIO(weekly_csv([row]))))
    assert tuple(parsed) == WEEKLY_COLUMNS
    assert (
        parsed["filed"],
        parsed["median_hours_to_resolve"],
        parsed["sla_on_time_share"],
        parsed["nps"],
    ) == (
        "3",
        "1.235",
        "0.5",
        "",
    )


def test_dots_keep_north_up_and_grow_with_counts() -> None:
    south, north = dots([(39.28, -76.61, 1), (39.30, -76.61, 4)])
    assert north.y < south.y
    assert north.r > south.r
    assert all(0 <= d.x <= 640 and 0 <= d.y <= 400 for d in (south, north))
    assert dots([]) == []


def test_a_single_cell_is_drawn_in_the_middle() -> None:
    (dot,) = dots([(39.29, -76.61, 5)])
    assert (dot.x, dot.y) == (320, 200)
