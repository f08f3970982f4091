"""The gazetteer's scoring rules, without a database: what each kind of match is worth and which neighbours count."""

from __future__ import annotations

import pytest
from civicloop_geo.domain.addresses import StreetRef
from civicloop_geo.domain.gazetteer_scoring import (
    Neighbour,
    best_first,
    corner_factor,
    extrapolate,
    interpolation_base,
    nearest_number_base,
    one_run,
    pick_neighbour,
    reverse_confidence,
    street_score,
    zip_checked,
)
from civicloop_geo.domain.places import GeocodeResult, MatchKind

LAT, LONG = 34.0522, -118.2437
METRE = 1 / 111_195.0  # degrees of latitude per metre


def result(address: str, confidence: float, *, lat: float = LAT) -> GeocodeResult:
    return GeocodeResult(lat, LONG, address, confidence, "gazetteer", MatchKind.address_point)


def test_the_same_street_scores_its_name_similarity():
    bellevue = StreetRef("BELLEVUE", "W", "AVE")
    assert street_score(bellevue, bellevue, 0.9) == pytest.approx(0.9)


def test_numbered_streets_one_edit_apart_are_different_streets():
    assert street_score(StreetRef("71ST", suffix="ST"), StreetRef("21ST", suffix="ST"), 0.95) == 0.0


def test_a_left_out_direction_costs_little_and_a_conflicting_one_much():
    found = StreetRef("BELLEVUE", "W", "AVE")
    left_out = street_score(StreetRef("BELLEVUE", "", "AVE"), found, 1.0)
    conflicting = street_score(StreetRef("BELLEVUE", "E", "AVE"), found, 1.0)
    assert left_out == pytest.approx(0.97)
    assert conflicting == pytest.approx(0.6)
    assert street_score(StreetRef("BELLEVUE", "W", "ST"), found, 1.0) == pytest.approx(0.75)


@pytest.mark.parametrize(("gap", "base"), [(2, 0.85), (20, 0.85), (60, 0.8), (300, 0.72), (1000, 0.62)])
def test_interpolation_is_worth_less_the_wider_the_gap(gap, base):
    assert interpolation_base(gap) == base


@pytest.mark.parametrize(("diff", "base"), [(10, 0.65), (100, 0.58), (300, 0.5), (2000, 0.4)])
def test_the_nearest_known_number_is_worth_less_the_farther_it_is(diff, base):
    assert nearest_number_base(diff) == base


def test_a_corner_is_full_value_up_to_40_m_and_never_below_half():
    assert corner_factor(10) == 1.0
    assert corner_factor(170) == pytest.approx(0.75)
    assert corner_factor(5_000) == 0.5


def test_reverse_confidence_falls_from_one_to_four_tenths_at_the_radius():
    assert reverse_confidence(0, 100) == 1.0
    assert reverse_confidence(100, 100) == pytest.approx(0.4)


def test_the_neighbour_picked_is_in_the_same_zip_then_on_the_same_side_then_nearest():
    rows = [
        Neighbour(101, "90026", LAT, LONG),  # same side, same zip, 4 away
        Neighbour(104, "90026", LAT, LONG),  # other side, 1 away
        Neighbour(103, "90004", LAT, LONG),  # same side, other zip, 2 away
    ]
    assert pick_neighbour(rows, 105, "90026").number == 101
    assert pick_neighbour(rows, 105, "").number == 103
    assert pick_neighbour([], 105, "90026") is None


def test_two_numbers_far_apart_for_their_gap_are_not_one_run():
    lo = Neighbour(100, "", LAT, LONG)
    near = Neighbour(200, "", LAT + 150 * METRE, LONG)
    far = Neighbour(102, "", LAT + 5_000 * METRE, LONG)
    assert one_run(lo, near)
    assert not one_run(lo, far)


def test_a_number_beyond_the_known_ones_is_extrapolated_along_the_street():
    near = Neighbour(200, "", LAT + 100 * METRE, LONG)
    far = Neighbour(100, "", LAT, LONG)
    lat, long = extrapolate(near, [near, far], 250)
    assert lat == pytest.approx(LAT + 150 * METRE)
    assert long == pytest.approx(LONG)
    # At most one and a half spacings beyond the nearest known number.
    lat, _ = extrapolate(near, [near, far], 1_000)
    assert lat == pytest.approx(LAT + 250 * METRE)


def test_without_a_second_number_the_nearest_is_the_answer():
    near = Neighbour(200, "", LAT, LONG)
    assert extrapolate(near, [near], 250) == (LAT, LONG)


def test_an_estimate_far_outside_its_zip_loses_half_its_confidence():
    inside = result("1 Main St", 0.8)
    outside = result("1 Main St", 0.8, lat=LAT + 5_000 * METRE)
    assert zip_checked(inside, LAT, LONG, radius_m=1_000).confidence == 0.8
    assert zip_checked(outside, LAT, LONG, radius_m=1_000).confidence == pytest.approx(0.4)


def test_best_first_orders_by_confidence_merges_one_place_and_stops_at_the_limit():
    results = [
        result("2 Main St", 0.6),
        result("1 Main St", 0.9),
        result("1 Main St", 0.7),
        result("3 Main St", 0.5),
    ]
    assert [(r.address, r.confidence) for r in best_first(results, 2)] == [
        ("1 Main St", 0.9),
        ("2 Main St", 0.6),
    ]
