"""Boundary files -> features (GeoJSON-like dicts) and the CRS they declare: GeoJSON, Shapefile, a zipped Shapefile.

Only reading happens here; `domain.boundaries` decides what the features are worth.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import shapefile


class BoundaryFileError(ValueError):
    """The file cannot be read as boundaries (wrong format, a missing .dbf, not a FeatureCollection...)."""


@dataclass(frozen=True)
class BoundaryFile:
    path: Path
    format: str  # "geojson" | "shapefile"
    features: list[dict[str, Any]]
    crs: str | None  # as declared (a GeoJSON crs name, a .prj's WKT); None when the file declares none


def read_boundary_file(path: Path) -> BoundaryFile:
    """Read by extension: .geojson/.json, .shp (with its .shx, .dbf and .prj beside it) or a .zip holding those."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise BoundaryFileError(f"{path}: no such file")
    if suffix in (".geojson", ".json"):
        return read_geojson(path)
    if suffix == ".shp":
        return read_shapefile(path)
    if suffix == ".zip":
        return read_zipped_shapefile(path)
    raise BoundaryFileError(f"{path}: expected a .geojson, .json, .shp or .zip file")


def read_geojson(path: Path) -> BoundaryFile:
    try:
        doc = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BoundaryFileError(f"{path}: not JSON ({exc})") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise BoundaryFileError(f"{path}: a FeatureCollection without a 'features' list")
    elif kind == "Feature":
        features = [doc]
    else:
        raise BoundaryFileError(f"{path}: expected a GeoJSON FeatureCollection, found {kind!r}")
    bad = [i for i, f in enumerate(features) if not isinstance(f, dict) or f.get("type") != "Feature"]
    if bad:
        raise BoundaryFileError(f"{path}: entries {bad[:5]} of 'features' are not GeoJSON Features")
    return BoundaryFile(path, "geojson", features, _geojson_crs(path, doc.get("crs")))


def _geojson_crs(path: Path, member: Any) -> str | None:
    """The legacy (2008) `crs` member; RFC 7946 dropped it and means WGS84 when it is absent."""
    if member is None:
        return None
    if isinstance(member, dict) and member.get("type") == "name":
        name = (member.get("properties") or {}).get("name")
        if isinstance(name, str) and name:
            return name
    raise BoundaryFileError(f"{path}: unsupported 'crs' member {json.dumps(member)[:120]} (only named CRSs)")


def read_shapefile(path: Path) -> BoundaryFile:
    siblings = {p.suffix.lower(): p for p in path.parent.iterdir() if p.stem == path.stem and p.is_file()}

    def open_part(ext: str) -> BinaryIO | None:
        p = siblings.get(ext)
        return io.BytesIO(p.read_bytes()) if p else None

    return _read_shapefile_parts(path, open_part)


def read_zipped_shapefile(path: Path) -> BoundaryFile:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BoundaryFileError(f"{path}: not a zip file ({exc})") from None
    with archive:
        names = [n for n in archive.namelist() if not n.startswith("__MACOSX/")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if len(shps) != 1:
            found = ", ".join(shps) or "none"
            raise BoundaryFileError(f"{path}: expected exactly one .shp in the archive, found {found}")
        stem = shps[0][:-4]
        by_ext = {
            n[len(stem) :].lower(): n
            for n in names
            if n[: len(stem)] == stem and "." not in n[len(stem) + 1 :]
        }

        def open_part(ext: str) -> BinaryIO | None:
            name = by_ext.get(ext)
            return io.BytesIO(archive.read(name)) if name else None

        return _read_shapefile_parts(path / shps[0], open_part)


def _read_shapefile_parts(label: Path, open_part: Callable[[str], BinaryIO | None]) -> BoundaryFile:
    shp, shx, dbf, prj, cpg = (open_part(ext) for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"))
    if shp is None or dbf is None:
        raise BoundaryFileError(
            f"{label}: a Shapefile needs its .shp and .dbf (the .dbf holds the ids and names)"
        )
    crs = None
    if prj is not None:
        crs = prj.read().decode("utf-8", errors="replace").strip() or None
    # The .cpg names the .dbf's encoding; without one, try UTF-8 and fall back to Latin-1 rather than garble names.
    encoding = cpg.read().decode("ascii", errors="replace").strip() if cpg else None
    raw = {"shp": shp.read(), "shx": shx.read() if shx else None, "dbf": dbf.read()}
    encodings = [encoding] if encoding else ["utf-8", "latin-1"]
    for attempt, enc in enumerate(encodings, start=1):
        try:
            features = _features(raw, enc)
            break
        # pyshp reports undecodable text as its own exception; Latin-1 decodes any byte, so a failure there is real
        except (shapefile.ShapefileException, LookupError, ValueError) as exc:
            if attempt == len(encodings):
                raise BoundaryFileError(f"{label}: cannot read the Shapefile ({exc})") from None
    return BoundaryFile(label, "shapefile", features, crs)


def _features(raw: dict[str, bytes | None], encoding: str) -> list[dict[str, Any]]:
    streams = {k: io.BytesIO(v) for k, v in raw.items() if v is not None}
    with shapefile.Reader(encoding=encoding, **streams) as reader:
        features = []
        for item in reader.iterShapeRecords():
            geometry = None if item.shape.shapeType == shapefile.NULL else item.shape.__geo_interface__
            features.append({"type": "Feature", "properties": item.record.as_dict(), "geometry": geometry})
        return features
