"""Boundary features -> validated WGS84 areas: repair, rejection, naming, and reprojection against known values."""

from __future__ import annotations

import pytest
import shapely
from civicloop_geo.domain.boundaries import AreaNaming, BoundaryError, prepare_areas
from pyproj import Transformer
from shapely.geometry import shape

BY_ID = AreaNaming(id_property="id", name_property="name")

# A 400 m square in Somerville (long/lat), for tests that need a real place.
SQUARE = [[[-71.100, 42.390], [-71.095, 42.390], [-71.095, 42.394], [-71.100, 42.394], [-71.100, 42.390]]]


def feature(geometry: dict | None, **properties: object) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def polygon(*rings: list) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


def test_a_valid_polygon_becomes_a_multipolygon_untouched_and_counter_clockwise():
    clockwise = [list(reversed(SQUARE[0]))]
    report = prepare_areas([feature(polygon(*clockwise), id="a", name="Area A")], naming=BY_ID)

    assert report.ok and not report.repaired
    (area,) = report.areas
    assert (area.area_id, area.name, area.polygons, area.vertices) == ("a", "Area A", 1, 5)
    assert area.geometry["type"] == "MultiPolygon"
    geom = shape(area.geometry)
    assert geom.equals(shape(polygon(*SQUARE)))
    assert geom.geoms[0].exterior.is_ccw  # RFC 7946 right-hand rule, whatever the input's winding
    assert area.area_km2 == pytest.approx(0.41 * 0.44, rel=0.05)  # ~410 m x ~445 m at 42.39°N


def test_a_bow_tie_is_repaired_into_its_two_triangles():
    bow_tie = [[0, 0], [0.02, 0.02], [0.02, 0], [0, 0.02], [0, 0]]
    report = prepare_areas([feature(polygon(bow_tie), id="bow", name="Bow")], naming=BY_ID)

    assert report.ok
    (area,) = report.areas
    assert area.polygons == 2
    assert shape(area.geometry).area == pytest.approx(2 * 0.5 * 0.02 * 0.01)  # two triangles, nothing lost
    (repair,) = report.repaired
    assert repair.area_id == "bow" and repair.problem.startswith("Self-intersection")
    assert "1 polygon(s) became 2" in repair.action


def test_a_self_touching_ring_is_repaired_into_a_polygon_with_a_hole_keeping_its_area():
    # The exterior ring touches itself at (0.02, 0.04), pinching off an inner triangle (an "inverted hole").
    ring = [
        [0, 0],
        [0.04, 0],
        [0.04, 0.04],
        [0.02, 0.04],
        [0.03, 0.02],
        [0.01, 0.02],
        [0.02, 0.04],
        [0, 0.04],
        [0, 0],
    ]
    assert not shapely.is_valid(shape(polygon(ring)))
    report = prepare_areas([feature(polygon(ring), id="t", name="Touching")], naming=BY_ID)

    (area,) = report.areas
    geom = shape(area.geometry)
    assert geom.is_valid and len(geom.geoms) == 1 and len(geom.geoms[0].interiors) == 1
    assert geom.area == pytest.approx(0.04 * 0.04 - 0.5 * 0.02 * 0.02)
    assert not geom.covers(shapely.Point(0.02, 0.03))  # inside the pinched-off triangle: not in the area
    (repair,) = report.repaired
    assert "Ring Self-intersection" in repair.problem


def test_overlapping_parts_of_a_multipolygon_are_unioned_not_cut_out():
    a = [[0, 0], [0.02, 0], [0.02, 0.02], [0, 0.02], [0, 0]]
    b = [[0.01, 0.01], [0.03, 0.01], [0.03, 0.03], [0.01, 0.03], [0.01, 0.01]]
    report = prepare_areas(
        [feature({"type": "MultiPolygon", "coordinates": [[a], [b]]}, id="m", name="M")], naming=BY_ID
    )
    geom = shape(report.areas[0].geometry)
    assert geom.area == pytest.approx(0.0007)  # 4 + 4 - 1 (in 1e-4 deg²): the overlap stays inside
    assert geom.covers(shapely.Point(0.015, 0.015))
    assert len(report.repaired) == 1


def test_non_polygonal_members_of_a_collection_are_dropped_and_reported():
    collection = {
        "type": "GeometryCollection",
        "geometries": [
            polygon(*SQUARE),
            {"type": "LineString", "coordinates": [[-71.2, 42.3], [-71.21, 42.31]]},
        ],
    }
    report = prepare_areas([feature(collection, id="gc", name="GC")], naming=BY_ID)
    assert report.areas[0].polygons == 1
    assert report.repaired[0].action == "dropped 1 LineString"


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (polygon(), "the Polygon is empty"),
        ({"type": "MultiPolygon", "coordinates": []}, "the MultiPolygon is empty"),
        (None, "has no geometry"),
        (
            {"type": "Point", "coordinates": [-71.1, 42.39]},
            "a Point is not an area (Polygon or MultiPolygon expected)",
        ),
        (
            {"type": "LineString", "coordinates": [[-71.1, 42.39], [-71.0, 42.4]]},
            "a LineString is not an area",
        ),
        (
            polygon([[-71.1, 42.39], [-71.0, 42.39], [-71.05, 42.39], [-71.1, 42.39]]),
            "has no area (degenerate",
        ),
        (polygon([[-71.1, 42.39], [-71.0, 42.39]]), "malformed Polygon: A linearring requires at least 4"),
        (polygon([["west", 42.39], [-71.0, 42.39], [-71.0, 42.4], [-71.1, 42.39]]), "malformed Polygon"),
        pytest.param(
            polygon([[-71.1, 42.39], [float("nan"), 42.4], [-71.0, 42.4], [-71.1, 42.39]]),
            "not finite",
            marks=pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
        ),
    ],
)
def test_what_cannot_be_an_area_is_rejected_naming_the_feature(geometry, reason):
    report = prepare_areas(
        [feature(polygon(*SQUARE), id="good", name="Good"), feature(geometry, id="bad", name="Bad")],
        naming=BY_ID,
    )
    assert [a.area_id for a in report.areas] == ["good"]
    (rejection,) = report.rejected
    assert (rejection.feature_index, rejection.area_id) == (1, "bad")
    assert reason in rejection.reason
    assert str(rejection).startswith("feature 1 (area 'bad'): ")


def test_duplicate_ids_reject_every_feature_that_carries_them():
    features = [
        feature(polygon(*SQUARE), id="7", name="Seven"),
        feature(polygon(*SQUARE), id="8", name="Eight"),
        feature(polygon(*SQUARE), id=7.0, name="Seven again"),  # a DBF number: the same id "7"
    ]
    report = prepare_areas(features, naming=BY_ID)
    assert [a.area_id for a in report.areas] == ["8"]
    assert [(r.feature_index, r.area_id) for r in report.rejected] == [(0, "7"), (2, "7")]
    assert all("area id '7' is used by features 0, 2" in r.reason for r in report.rejected)


def test_ids_and_names_come_from_properties_or_templates():
    features = [
        feature(polygon(*SQUARE), Ward=3),
        feature(polygon(*SQUARE), Ward=None),
        feature(polygon(*SQUARE)),
    ]
    report = prepare_areas(
        features, naming=AreaNaming(id_property="Ward", name_template="Ward {Ward}", id_prefix="w-")
    )
    assert [(a.area_id, a.name) for a in report.areas] == [("w-3", "Ward 3")]
    assert [r.reason for r in report.rejected] == ["has no id: property 'Ward' is missing or empty"] * 2

    templated = prepare_areas(
        [feature(polygon(*SQUARE), boro="BK", num=4)], naming=AreaNaming(id_template="{boro}-{num}")
    )
    assert [(a.area_id, a.name) for a in templated.areas] == [("BK-4", "BK-4")]  # no name rule: the id
    missing = prepare_areas(
        [feature(polygon(*SQUARE), boro="BK")], naming=AreaNaming(id_template="{boro}-{num}")
    )
    assert missing.rejected[0].reason == "has no id: template '{boro}-{num}' needs property 'num'"
    padded = prepare_areas([feature(polygon(*SQUARE), num=4)], naming=AreaNaming(id_template="{num:03d}"))
    assert "cannot be filled" in padded.rejected[0].reason  # values are text: "{num:>03}" is the way


def test_the_naming_rule_itself_is_checked():
    with pytest.raises(BoundaryError, match="exactly one of an id property or an id template"):
        AreaNaming(id_property="a", id_template="{a}")
    with pytest.raises(BoundaryError, match="exactly one"):
        AreaNaming(name_property="n")
    with pytest.raises(BoundaryError, match="names no property"):
        AreaNaming(id_template="fixed")


def test_an_over_long_id_is_rejected_before_it_reaches_the_contract():
    report = prepare_areas([feature(polygon(*SQUARE), id="x" * 121, name="Long")], naming=BY_ID)
    assert "longer than 120 characters" in report.rejected[0].reason


# -- coordinate reference systems --------------------------------------------------------------------------------


def test_massachusetts_state_plane_feet_land_on_the_projection_origin():
    # EPSG:2249 (NAD83 / Massachusetts Mainland, US survey feet) puts its origin, 41°N 71°30'W, at false easting
    # 200 000 m = 656 166.667 ftUS and false northing 750 000 m = 2 460 625 ftUS: a value from the definition.
    e, n, d = 656_166.667, 2_460_625.0, 500.0
    square = [[e - d, n - d], [e + d, n - d], [e + d, n + d], [e - d, n + d], [e - d, n - d]]
    report = prepare_areas([feature(polygon(square), id="o", name="Origin")], naming=BY_ID, crs="EPSG:2249")

    assert report.transformed and "Massachusetts Mainland" in report.source_crs
    centre = shape(report.areas[0].geometry).centroid
    assert (centre.x, centre.y) == (pytest.approx(-71.5, abs=1e-6), pytest.approx(41.0, abs=1e-6))
    # 1000 ftUS = 304.8 m a side, and NAD83 -> WGS84 is the identity in PROJ's default pipeline
    assert report.areas[0].area_km2 == pytest.approx(0.3048**2, rel=1e-3)


def test_new_york_long_island_feet_from_a_legacy_geojson_crs_name():
    # EPSG:2263: origin 40°10'N 74°W at false easting 300 000 m = 984 250 ftUS, false northing 0.
    e, n, d = 984_250.0, 0.0, 300.0
    square = [[e - d, n - d], [e + d, n - d], [e + d, n + d], [e - d, n + d], [e - d, n - d]]
    report = prepare_areas(
        [feature(polygon(square), id="o", name="Origin")], naming=BY_ID, crs="urn:ogc:def:crs:EPSG::2263"
    )
    centre = shape(report.areas[0].geometry).centroid
    assert (centre.x, centre.y) == (pytest.approx(-74.0, abs=1e-6), pytest.approx(40 + 10 / 60, abs=1e-6))


def test_a_round_trip_through_state_plane_comes_back_within_a_centimetre():
    to_feet = Transformer.from_crs("EPSG:4326", "EPSG:2249", always_xy=True)
    projected = [[list(to_feet.transform(x, y)) for x, y in SQUARE[0]]]
    assert projected[0][0][0] > 700_000  # really in feet now

    report = prepare_areas([feature(polygon(*projected), id="rt", name="RT")], naming=BY_ID, crs="EPSG:2249")
    back = shape(report.areas[0].geometry)
    assert back.hausdorff_distance(shape(polygon(*SQUARE))) < 2e-7  # the 1e-7° grid, about a centimetre


def test_projected_coordinates_declared_wgs84_are_rejected_with_a_hint():
    to_feet = Transformer.from_crs("EPSG:4326", "EPSG:2249", always_xy=True)
    projected = [[list(to_feet.transform(x, y)) for x, y in SQUARE[0]]]
    for declared in (None, "EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84"):
        report = prepare_areas([feature(polygon(*projected), id="p", name="P")], naming=BY_ID, crs=declared)
        assert not report.areas
        reason = report.rejected[0].reason
        assert (
            "is not a WGS84 long/lat" in reason and "looks projected" in reason and "--source-crs" in reason
        )


def test_a_wrong_projected_crs_is_caught_by_its_area_of_use():
    # Somerville in Massachusetts metres (EPSG:26986) read as Massachusetts feet lands ~500 km south, at sea.
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:26986", always_xy=True)
    metres = [[list(to_metres.transform(x, y)) for x, y in SQUARE[0]]]
    report = prepare_areas([feature(polygon(*metres), id="m", name="M")], naming=BY_ID, crs="EPSG:2249")
    assert not report.areas
    assert "outside where NAD83 / Massachusetts Mainland (ftUS) is used" in report.rejected[0].reason
    # the same coordinates with the right CRS are fine
    right = prepare_areas([feature(polygon(*metres), id="m", name="M")], naming=BY_ID, crs="EPSG:26986")
    assert shape(right.areas[0].geometry).hausdorff_distance(shape(polygon(*SQUARE))) < 2e-7


def test_a_prj_wkt_is_a_crs_and_an_unknown_crs_is_an_error():
    from pyproj import CRS

    wkt = CRS.from_epsg(2249).to_wkt("WKT1_ESRI")  # what a .prj holds
    report = prepare_areas([], naming=BY_ID, crs=wkt)
    assert report.transformed and "Massachusetts Mainland" in report.source_crs
    with pytest.raises(BoundaryError, match="unknown CRS 'EPSG:999999'"):
        prepare_areas([], naming=BY_ID, crs="EPSG:999999")


def test_simplification_is_off_by_default_and_reduces_vertices_when_asked():
    wiggly = [[-71.1 + i * 1e-4, 42.39 + (1e-6 if i % 2 else 0)] for i in range(101)]
    ring = [*wiggly, [-71.09, 42.40], [-71.1, 42.40], wiggly[0]]
    plain = prepare_areas([feature(polygon(ring), id="w", name="W")], naming=BY_ID)
    simple = prepare_areas([feature(polygon(ring), id="w", name="W")], naming=BY_ID, simplify_tolerance=1e-5)
    assert plain.areas[0].vertices == len(ring)
    assert simple.areas[0].vertices == 5
    assert shape(simple.areas[0].geometry).symmetric_difference(shape(polygon(ring))).area < 1e-7
