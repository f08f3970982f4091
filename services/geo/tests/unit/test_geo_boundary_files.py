"""Reading boundary files: GeoJSON (with a legacy crs member), Shapefiles and zipped Shapefiles written by pyshp."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import shapefile
from civicloop_geo.adapters.boundary_files import BoundaryFileError, read_boundary_file
from civicloop_geo.domain.boundaries import AreaNaming, prepare_areas
from pyproj import CRS
from shapely.geometry import shape

RING = [
    [-71.100, 42.390],
    [-71.100, 42.394],
    [-71.095, 42.394],
    [-71.095, 42.390],
    [-71.100, 42.390],
]  # clockwise


def write_shapefile(
    base: Path,
    *,
    prj: str | None = None,
    name: str = "Ward One",
    null_second: bool = False,
    encoding: str = "utf-8",
) -> None:
    writer = shapefile.Writer(str(base), shapeType=shapefile.POLYGON, encoding=encoding)
    writer.field("WARD", "N", size=4)
    writer.field("NAME", "C", size=40)
    writer.poly([RING])
    writer.record(1, name)
    if null_second:
        writer.null()
        writer.record(2, "Nowhere")
    writer.close()
    if prj is not None:
        base.with_suffix(".prj").write_text(prj)


def test_a_geojson_feature_collection_and_its_legacy_crs_name(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2263"}},
        "features": [{"type": "Feature", "properties": {"id": 1}, "geometry": None}],
    }
    (tmp_path / "a.geojson").write_text(json.dumps(doc))
    read = read_boundary_file(tmp_path / "a.geojson")
    assert (read.format, read.crs, read.features) == (
        "geojson",
        "urn:ogc:def:crs:EPSG::2263",
        doc["features"],
    )

    (tmp_path / "b.json").write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": None}))
    assert read_boundary_file(tmp_path / "b.json").crs is None  # RFC 7946: WGS84


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        (
            json.dumps({"type": "Polygon", "coordinates": []}),
            "expected a GeoJSON FeatureCollection, found 'Polygon'",
        ),
        (
            json.dumps({"type": "FeatureCollection", "features": [{"type": "Polygon"}]}),
            "entries [0] of 'features'",
        ),
        (
            json.dumps({"type": "FeatureCollection", "features": [], "crs": {"type": "link"}}),
            "unsupported 'crs' member",
        ),
    ],
)
def test_what_is_not_a_feature_collection_is_refused(tmp_path, content, message):
    (tmp_path / "x.geojson").write_text(content)
    with pytest.raises(BoundaryFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_boundary_file(tmp_path / "x.geojson")


def test_a_shapefile_gives_its_records_as_properties_and_its_prj_as_the_crs(tmp_path):
    wkt = CRS.from_epsg(4269).to_wkt("WKT1_ESRI")
    write_shapefile(tmp_path / "wards", prj=wkt, null_second=True)
    read = read_boundary_file(tmp_path / "wards.shp")
    assert read.crs == wkt
    first, second = read.features
    assert first["properties"] == {"WARD": 1, "NAME": "Ward One"}
    assert shape(first["geometry"]).equals(shape({"type": "Polygon", "coordinates": [RING]}))
    assert second["geometry"] is None  # a null shape: the domain rejects it by name

    report = prepare_areas(
        read.features, naming=AreaNaming(id_property="WARD", name_property="NAME"), crs=read.crs
    )
    assert [a.area_id for a in report.areas] == ["1"]
    assert [str(r) for r in report.rejected] == ["feature 1 (area '2'): has no geometry"]


def test_a_zip_holding_one_shapefile_is_read_like_the_shapefile(tmp_path):
    write_shapefile(tmp_path / "wards", prj=CRS.from_epsg(4326).to_wkt("WKT1_ESRI"))
    with zipfile.ZipFile(tmp_path / "wards.zip", "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(tmp_path / f"wards.{ext}", f"Wards_2024/wards.{ext}")
        z.writestr("__MACOSX/Wards_2024/._wards.shp", b"resource fork")
    read = read_boundary_file(tmp_path / "wards.zip")
    assert read.format == "shapefile" and read.crs is not None and "WGS_1984" in read.crs
    assert [f["properties"]["NAME"] for f in read.features] == ["Ward One"]


def test_a_latin1_dbf_without_a_cpg_is_read_in_latin1(tmp_path):
    write_shapefile(tmp_path / "wards", name="Côte-des-Neiges", encoding="latin-1")
    assert read_boundary_file(tmp_path / "wards.shp").features[0]["properties"]["NAME"] == "Côte-des-Neiges"


def test_incomplete_shapefiles_and_ambiguous_zips_are_refused(tmp_path):
    write_shapefile(tmp_path / "wards")
    (tmp_path / "wards.dbf").unlink()
    with pytest.raises(BoundaryFileError, match=r"needs its \.shp and \.dbf"):
        read_boundary_file(tmp_path / "wards.shp")

    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.shp", b""), z.writestr("b.shp", b"")
    with pytest.raises(BoundaryFileError, match=r"exactly one \.shp in the archive, found a\.shp, b\.shp"):
        read_boundary_file(tmp_path / "two.zip")
    (tmp_path / "x.kml").write_text("<kml/>")
    with pytest.raises(BoundaryFileError, match=r"expected a \.geojson, \.json, \.shp or \.zip"):
        read_boundary_file(tmp_path / "x.kml")
    with pytest.raises(BoundaryFileError, match="no such file"):
        read_boundary_file(tmp_path / "missing.geojson")
