"""The gazetteer against the real PostGIS: a small hand-built town, loaded through the real loaders (COPY).

The town: MAIN ST runs north from (34.0, -118.0), one house number every ~1.1 m, even numbers on the west side and
odd on the east; W BELLEVUE AVE runs east-west; ELM AVE crosses MAIN ST, and both have centrelines; OAK AVE has
address points only; PINE ST has only a centreline with a number range.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from uuid import uuid4

import pytest
from civicloop_geo.adapters.gazetteer import PostgisGazetteer
from civicloop_geo.adapters.gazetteer_loader import (
    AddressColumns,
    AddressRecord,
    load_address_csv,
    load_address_points,
    load_landmarks_geojson,
    load_streets_geojson,
)
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.domain.places import MatchKind, distance_m

pytestmark = pytest.mark.integration

LAT0, LONG0 = 34.0, -118.0
PER_NUMBER = 1e-5  # degrees of latitude per house number on MAIN ST (~1.1 m)
SIDE = 1e-4  # degrees of longitude from the centreline to each side's houses (~9 m)

MAIN_NUMBERS = [100, 102, 110, 120, 200, 101, 111, 201]
BELLEVUE_NUMBERS = [2100, 2110, 2120, 2200]
OAK_NUMBERS = [400, 420, 440]


def main_st(n: int) -> tuple[float, float]:
    return LAT0 + n * PER_NUMBER, LONG0 + (SIDE if n % 2 else -SIDE)


def bellevue(n: int) -> tuple[float, float]:
    return LAT0 + 0.005 + (SIDE if n % 2 else -SIDE), LONG0 + 0.001 + (n - 2100) * PER_NUMBER


def oak(n: int) -> tuple[float, float]:
    # Runs east from 20 m east of MAIN ST, just north of its 150 block.
    return LAT0 + 150 * PER_NUMBER, LONG0 + 0.0002 + (n - 400) * PER_NUMBER


def record(text: str, lat: float, long: float) -> AddressRecord:
    parsed = parse_address(text)
    assert parsed is not None, text
    return AddressRecord(parsed, lat, long)


def town_records() -> list[AddressRecord]:
    return (
        [record(f"{n} Main St, 90001", *main_st(n)) for n in MAIN_NUMBERS]
        + [record(f"{n} W Bellevue Ave, 90002", *bellevue(n)) for n in BELLEVUE_NUMBERS]
        + [record(f"{n} Oak Ave, 90001", *oak(n)) for n in OAK_NUMBERS]
    )


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def line(name: str, coords: list[tuple[float, float]], **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, **props},
        "geometry": {"type": "LineString", "coordinates": [[long, lat] for lat, long in coords]},
    }


def point(name: str, lat: float, long: float, **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, **props},
        "geometry": {"type": "Point", "coordinates": [long, lat]},
    }


CROSSING = (LAT0 + 0.001, LONG0)  # where ELM AVE's centreline crosses MAIN ST's
SCHOOL = (LAT0 + 0.003, LONG0 + 0.002)
LIBRARIES = [(LAT0 + 0.004, LONG0 - 0.003), (LAT0 + 0.009, LONG0 + 0.004)]


@pytest.fixture
async def town(geo_pool, tmp_path):
    jurisdiction = f"gz-{uuid4().hex[:8]}"
    report = await load_address_points(geo_pool, jurisdiction, town_records(), source="town")
    assert report.loaded == len(MAIN_NUMBERS) + len(BELLEVUE_NUMBERS) + len(OAK_NUMBERS)
    streets = write_geojson(
        tmp_path / "streets.geojson",
        [
            line("Main Street", [(LAT0, LONG0), (LAT0 + 0.01, LONG0)]),
            line("Elm Avenue", [(CROSSING[0], LONG0 - 0.005), (CROSSING[0], LONG0 + 0.005)]),
            line("Pine St", [(LAT0 + 0.02, LONG0 + 0.01), (LAT0 + 0.02, LONG0 + 0.02)], first=1, last=99),
            {
                "type": "Feature",
                "properties": {"name": "Nowhere Rd"},
                "geometry": {"type": "Point", "coordinates": [0, 0]},
            },
        ],
    )
    lines = await load_streets_geojson(
        geo_pool, jurisdiction, streets, from_property="first", to_property="last"
    )
    assert (lines.loaded, lines.skipped) == (3, {"not a line": 1})
    landmarks = write_geojson(
        tmp_path / "landmarks.geojson",
        [
            point("Lincoln Elementary School", *SCHOOL, type="school"),
            point("Echo Park Branch Library", *LIBRARIES[0], type="library"),
            point("Central Library", *LIBRARIES[1], type="library"),
            point("", LAT0, LONG0, type="bench"),
        ],
    )
    marks = await load_landmarks_geojson(geo_pool, jurisdiction, landmarks, kind_property="type")
    assert (marks.loaded, marks.skipped) == (3, {"no name": 1})
    return jurisdiction


@pytest.fixture
def gazetteer(geo_pool):
    return PostgisGazetteer(geo_pool)


async def test_an_exact_address_is_its_address_point_with_full_confidence(town, gazetteer):
    [best, *_] = await gazetteer.geocode(town, "120 Main Street, 90001")
    assert best.kind is MatchKind.address_point
    assert best.address == "120 MAIN ST, 90001"
    assert (best.lat, best.long) == pytest.approx(main_st(120))
    assert best.confidence == 1.0
    assert best.provider == "gazetteer"


async def test_typos_in_the_street_name_still_find_it_with_less_confidence(town, gazetteer):
    exact = (await gazetteer.geocode(town, "2110 W Bellevue Ave"))[0]
    for typo in ("2110 W Belevue Ave", "2110 W Bellvue Avenue", "2110 west bellevu av"):
        [best, *_] = await gazetteer.geocode(town, typo)
        assert best.address == "2110 W BELLEVUE AVE, 90002", typo
        assert best.kind is MatchKind.address_point
        assert 0.6 < best.confidence < exact.confidence, typo


async def test_direction_and_suffix_agreement_shapes_confidence(town, gazetteer):
    given = (await gazetteer.geocode(town, "2110 W Bellevue Ave"))[0].confidence
    omitted = (await gazetteer.geocode(town, "2110 Bellevue Ave"))[0].confidence
    wrong = (await gazetteer.geocode(town, "2110 E Bellevue Ave"))[0].confidence
    assert given == 1.0
    assert 0.9 < omitted < given  # residents leave the direction out; still the place
    assert wrong < 0.7  # E and W are different streets in a grid city


async def test_a_missing_number_is_interpolated_between_its_neighbours_on_the_same_side(town, gazetteer):
    [best, *_] = await gazetteer.geocode(town, "106 Main St")
    assert best.kind is MatchKind.interpolated
    assert best.address == "106 MAIN ST, 90001"
    assert distance_m(best.lat, best.long, *main_st(106)) < 3
    assert 0.75 <= best.confidence < 1.0

    # 105 is odd: placed between 101 and 111 on the east side, not between 102 and 110 on the west.
    [odd, *_] = await gazetteer.geocode(town, "105 Main St")
    assert distance_m(odd.lat, odd.long, *main_st(105)) < 3
    assert odd.long > LONG0


async def test_a_number_beyond_the_known_ones_is_placed_on_the_street_with_lower_confidence(town, gazetteer):
    interpolated = (await gazetteer.geocode(town, "106 Main St"))[0]
    [best, *_] = await gazetteer.geocode(town, "300 Main St")
    assert best.kind is MatchKind.street
    assert best.address == "MAIN ST, 90001"
    # Continued along the line through 120 and 200 (the even side), at most 1.5 spans beyond 200.
    assert distance_m(best.lat, best.long, *main_st(300)) < 5
    assert best.confidence < interpolated.confidence
    assert best.confidence < 0.7


async def test_centrelines_with_number_ranges_place_numbers_where_there_are_no_points(town, gazetteer):
    [best, *_] = await gazetteer.geocode(town, "50 Pine St")
    assert best.kind is MatchKind.interpolated
    assert best.address == "50 PINE ST"
    halfway = (LAT0 + 0.02, LONG0 + 0.01 + 0.01 * 49 / 98)
    assert distance_m(best.lat, best.long, *halfway) < 2


async def test_an_intersection_of_two_centrelines_is_where_they_cross(town, gazetteer):
    for text in ("Main St & Elm Ave", "corner of Elm and Main", "Main Street / Elm Avenue"):
        [best, *_] = await gazetteer.geocode(town, text)
        assert best.kind is MatchKind.intersection, text
        assert distance_m(best.lat, best.long, *CROSSING) < 1, text
        assert best.confidence > 0.85, text


async def test_an_intersection_without_centrelines_is_between_the_closest_address_points(town, gazetteer):
    [best, *_] = await gazetteer.geocode(town, "Main St and Oak Ave")
    assert best.kind is MatchKind.intersection
    assert best.address == "MAIN ST & OAK AVE"
    # Between 200 MAIN ST's neighbour on the east side (201) and 400 OAK AVE: not on a corner, so less sure.
    closest_main = min((main_st(n) for n in MAIN_NUMBERS), key=lambda p: distance_m(*p, *oak(400)))
    mid = ((closest_main[0] + oak(400)[0]) / 2, (closest_main[1] + oak(400)[1]) / 2)
    assert distance_m(best.lat, best.long, *mid) < 2
    crossing = (await gazetteer.geocode(town, "Main St & Elm Ave"))[0]
    assert best.confidence < crossing.confidence


async def test_landmarks_by_name_with_typos_and_by_kind(town, gazetteer):
    [school, *_] = await gazetteer.geocode(town, "near Lincoln Elementary")
    assert school.kind is MatchKind.landmark
    assert school.address == "Lincoln Elementary School"
    assert (school.lat, school.long) == pytest.approx(SCHOOL)
    assert school.confidence > 0.6

    [typo, *_] = await gazetteer.geocode(town, "in front of Lincon Elementary")
    assert typo.address == "Lincoln Elementary School"
    assert typo.confidence < school.confidence

    libraries = await gazetteer.geocode(town, "by the library")
    assert {r.address for r in libraries} == {"Echo Park Branch Library", "Central Library"}
    assert all(r.confidence < school.confidence for r in libraries)  # two of them: neither is certain


async def test_a_street_without_a_number_is_the_street(town, gazetteer):
    [best, *_] = await gazetteer.geocode(town, "Main St")
    assert best.kind is MatchKind.street
    assert best.address == "MAIN ST"
    assert abs(best.long - LONG0) < 1e-6  # on the centreline
    assert LAT0 <= best.lat <= LAT0 + 0.01
    assert best.confidence == pytest.approx(0.5)


async def test_unknown_places_and_other_jurisdictions_find_nothing(town, gazetteer):
    assert await gazetteer.geocode(town, "12 Nonexistent Boulevard") == []
    assert await gazetteer.geocode(town, "") == []
    assert await gazetteer.geocode(f"gz-{uuid4().hex[:8]}", "120 Main St") == []


async def test_reverse_is_the_nearest_address_within_reach_and_less_sure_farther_away(town, gazetteer):
    lat, long = main_st(120)
    on_it = await gazetteer.reverse(town, lat, long)
    assert on_it is not None
    assert on_it.address == "120 MAIN ST, 90001"
    assert on_it.kind is MatchKind.address_point
    assert on_it.confidence == pytest.approx(1.0)

    # ~40 m west of 120 MAIN ST (the nearest house there): still it, less sure.
    west = long - 40 / (111_320 * math.cos(math.radians(lat)))
    near = await gazetteer.reverse(town, lat, west)
    assert near is not None and near.address == "120 MAIN ST, 90001"
    assert 0.7 < near.confidence < on_it.confidence

    assert await gazetteer.reverse(town, LAT0 - 0.01, LONG0) is None  # ~1.1 km south of everything
    assert await gazetteer.reverse(f"gz-{uuid4().hex[:8]}", lat, long) is None
    assert await PostgisGazetteer(gazetteer.pool, reverse_max_distance_m=20).reverse(town, lat, west) is None


async def test_csv_loading_maps_columns_skips_unusable_rows_and_reloads_idempotently(geo_pool, tmp_path):
    jurisdiction = f"gz-{uuid4().hex[:8]}"
    path = tmp_path / "points.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["addr", "y", "x"])
        w.writerow(["10 Cedar Street, 90003", "34.1", "-118.1"])
        w.writerow(["12 Cedar St Apt 2, 90003", "34.1001", "-118.1"])
        w.writerow(["10 CEDAR ST, 90003", "34.2", "-118.2"])  # the same address again: the first wins
        w.writerow(["Cedar St & Birch Ave", "34.1", "-118.1"])  # no house number
        w.writerow(["14 Cedar St", "", ""])  # no point
        w.writerow(["16 Cedar St", "0", "0"])  # the exports' "no point"
    columns = AddressColumns(
        address="addr",
        house_number=None,
        predir=None,
        street_name=None,
        suffix=None,
        postcode=None,
        lat="y",
        long="x",
    )
    for _ in range(2):
        report = await load_address_csv(geo_pool, jurisdiction, path, columns)
        assert report.loaded == 2
        assert report.skipped == {"repeated address": 1, "no house-numbered address": 1, "no point": 2}
    async with geo_pool.connection() as conn:
        cur = await conn.execute(
            "select full_address, unit from geo.address_points where jurisdiction_id = %s order by full_address",
            (jurisdiction,),
        )
        assert await cur.fetchall() == [("10 CEDAR ST, 90003", ""), ("12 CEDAR ST APT 2, 90003", "APT 2")]
    [best, *_] = await PostgisGazetteer(geo_pool).geocode(jurisdiction, "10 cedar st")
    assert (best.lat, best.long) == pytest.approx((34.1, -118.1))
