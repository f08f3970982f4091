"""Boundary features (GeoJSON-like dicts in any CRS) -> validated WGS84 MultiPolygons, one per service area.

Pure: no files, no database, no broker. The adapters read the features and the declared CRS; the CLI decides what to
publish from the `BoundaryReport` this returns. Every feature ends up in exactly one of `areas` or `rejected`;
`repaired` lists the areas whose geometry had to be made valid.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

WGS84 = CRS.from_epsg(4326)
# Coordinates are snapped to a 1e-7 degree grid (about 1 cm): it keeps events small (projected sources come back with
# 15+ digits) and removes the 1e-13 deg² float slivers where neighbouring districts of real files overlap.
GRID_DEGREES = 1e-7
# The contract's limits (`ServiceAreaDefined.area_id` / `.name`), checked here so a bad file fails before publishing.
MAX_AREA_ID = 120
MAX_AREA_NAME = 200
# How far outside a projected CRS's published area of use a transformed feature may land before the CRS is judged
# wrong (a metre CRS given for a foot file, a neighbouring state plane zone): generous, it only catches gross errors.
AREA_OF_USE_MARGIN_DEGREES = 1.0
_GEOD = Geod(ellps="WGS84")
_AREA_TYPES = {"Polygon", "MultiPolygon", "GeometryCollection"}


class BoundaryError(ValueError):
    """The whole input is unusable (an unknown CRS, a naming rule that cannot work): nothing can be prepared."""


@dataclass(frozen=True)
class AreaNaming:
    """Where an area's id and name come from: a property, or a template over the properties ("Ward {Ward}").

    The id is `id_prefix` + the property's value (or the template). Without a name rule the name is the id.
    """

    id_property: str | None = None
    name_property: str | None = None
    id_template: str | None = None
    name_template: str | None = None
    id_prefix: str = ""

    def __post_init__(self) -> None:
        if (self.id_property is None) == (self.id_template is None):
            raise BoundaryError("give exactly one of an id property or an id template")
        if self.name_property is not None and self.name_template is not None:
            raise BoundaryError("give at most one of a name property or a name template")
        for template in (self.id_template, self.name_template):
            if template is not None and not any(
                field for _, field, _, _ in string.Formatter().parse(template)
            ):
                raise BoundaryError(f"template {template!r} names no property (use {{property}})")


@dataclass(frozen=True)
class PreparedArea:
    feature_index: int
    area_id: str
    name: str
    geometry: dict[
        str, Any
    ]  # GeoJSON MultiPolygon, WGS84 long/lat, exterior rings counter-clockwise (RFC 7946)
    polygons: int
    vertices: int
    area_km2: float  # geodesic, on the WGS84 ellipsoid


@dataclass(frozen=True)
class Repair:
    feature_index: int
    area_id: str
    problem: str  # what GEOS found, e.g. "Self-intersection[-71.1 42.39]"
    action: str  # what was done about it


@dataclass(frozen=True)
class Rejection:
    feature_index: int
    area_id: str | None
    reason: str

    def __str__(self) -> str:
        label = f"feature {self.feature_index}" + (f" (area {self.area_id!r})" if self.area_id else "")
        return f"{label}: {self.reason}"


@dataclass(frozen=True)
class BoundaryReport:
    areas: tuple[PreparedArea, ...]
    repaired: tuple[Repair, ...]
    rejected: tuple[Rejection, ...]
    source_crs: str  # the CRS the coordinates were read in, as named by pyproj
    transformed: bool  # whether the coordinates were reprojected to WGS84

    @property
    def ok(self) -> bool:
        return not self.rejected


class _Rejected(Exception):
    """One feature cannot become an area; carries the reason into the report."""


def source_crs(declared: str | None) -> CRS:
    """The CRS named by a GeoJSON `crs` member, a .prj's WKT or `--source-crs`; none declared means WGS84."""
    if declared is None or not declared.strip():
        return WGS84
    try:
        crs = CRS.from_user_input(declared.strip())
    except CRSError as exc:
        raise BoundaryError(f"unknown CRS {declared[:80]!r}: {exc}") from None
    if not (crs.is_geographic or crs.is_projected):
        raise BoundaryError(f"CRS {crs.name!r} is neither geographic nor projected")
    return crs


def prepare_areas(
    features: Iterable[Mapping[str, Any]],
    *,
    naming: AreaNaming,
    crs: str | None = None,
    simplify_tolerance: float | None = None,
) -> BoundaryReport:
    """Validate, reproject and repair boundary features into one WGS84 MultiPolygon per area.

    `simplify_tolerance` (degrees, off by default) simplifies each area on its own, which can open gaps or overlaps
    along edges shared with neighbours: leave it off for areas that must partition the jurisdiction.
    """
    if simplify_tolerance is not None and simplify_tolerance < 0:
        raise BoundaryError("the simplification tolerance cannot be negative")
    crs_ = source_crs(crs)
    is_wgs84 = crs_.equals(WGS84, ignore_axis_order=True)
    # always_xy: GeoJSON and Shapefiles are long/lat (x/y) whatever the CRS's formal axis order says.
    transformer = None if is_wgs84 else Transformer.from_crs(crs_, WGS84, always_xy=True)
    feature_list = list(features)

    named: list[tuple[int, Mapping[str, Any], str, str]] = []
    rejected: list[Rejection] = []
    for index, feature in enumerate(feature_list):
        try:
            area_id, name = _identify(feature, naming)
        except _Rejected as exc:
            rejected.append(Rejection(index, None, str(exc)))
            continue
        named.append((index, feature, area_id, name))

    # A duplicated id is ambiguous (which feature is the area?), so every feature carrying it is rejected.
    counts = Counter(area_id for _, _, area_id, _ in named)
    where = {area_id: [i for i, _, a, _ in named if a == area_id] for area_id, n in counts.items() if n > 1}

    areas: list[PreparedArea] = []
    repaired: list[Repair] = []
    for index, feature, area_id, name in named:
        if area_id in where:
            others = ", ".join(str(i) for i in where[area_id])
            rejected.append(Rejection(index, area_id, f"area id {area_id!r} is used by features {others}"))
            continue
        try:
            geom, repair = _prepare_geometry(
                feature.get("geometry"), crs_, transformer, simplify_tolerance=simplify_tolerance
            )
        except _Rejected as exc:
            rejected.append(Rejection(index, area_id, str(exc)))
            continue
        if repair is not None:
            repaired.append(Repair(index, area_id, *repair))
        areas.append(
            PreparedArea(
                feature_index=index,
                area_id=area_id,
                name=name,
                geometry=_geojson(geom),
                polygons=len(geom.geoms),
                vertices=int(shapely.get_num_coordinates(geom)),
                area_km2=abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6,
            )
        )
    rejected.sort(key=lambda r: r.feature_index)
    return BoundaryReport(
        areas=tuple(areas),
        repaired=tuple(repaired),
        rejected=tuple(rejected),
        source_crs=crs_.name,
        transformed=transformer is not None,
    )


def _identify(feature: Mapping[str, Any], naming: AreaNaming) -> tuple[str, str]:
    properties = feature.get("properties") or {}
    raw_id = _value(properties, naming.id_property, naming.id_template, "id")
    area_id = naming.id_prefix + raw_id
    name = area_id
    if naming.name_property is not None or naming.name_template is not None:
        name = _value(properties, naming.name_property, naming.name_template, "name")
    if len(area_id) > MAX_AREA_ID:
        raise _Rejected(f"area id {area_id[:40]!r}... is longer than {MAX_AREA_ID} characters")
    if len(name) > MAX_AREA_NAME:
        raise _Rejected(f"name {name[:40]!r}... is longer than {MAX_AREA_NAME} characters")
    return area_id, name


def _value(properties: Mapping[str, Any], prop: str | None, template: str | None, what: str) -> str:
    if prop is not None:
        if _text(properties.get(prop)) == "":
            raise _Rejected(f"has no {what}: property {prop!r} is missing or empty")
        return _text(properties[prop])
    if template is None:
        raise _Rejected(f"has no {what}: neither a property nor a template names it")
    try:
        value = template.format_map({k: _text(v) for k, v in properties.items()}).strip()
    except KeyError as exc:
        raise _Rejected(f"has no {what}: template {template!r} needs property {exc.args[0]!r}") from None
    except (IndexError, ValueError, AttributeError) as exc:  # "{0}", "{n:03d}" on text, "{a.b}"
        raise _Rejected(f"has no {what}: template {template!r} cannot be filled ({exc})") from None
    if not value:
        raise _Rejected(f"has no {what}: template {template!r} gives an empty text")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a DBF numeric id read as 7.0 is area "7"
    return str(value).strip()


def _prepare_geometry(
    geometry: Mapping[str, Any] | None,
    crs: CRS,
    transformer: Transformer | None,
    *,
    simplify_tolerance: float | None,
) -> tuple[MultiPolygon, tuple[str, str] | None]:
    if not geometry:
        raise _Rejected("has no geometry")
    kind = geometry.get("type")
    if kind not in _AREA_TYPES:
        raise _Rejected(f"a {kind} is not an area (Polygon or MultiPolygon expected)")
    try:
        geom = shape(geometry)
    except Exception as exc:
        raise _Rejected(f"malformed {kind}: {exc}") from None
    if geom.is_empty:
        raise _Rejected(f"the {kind} is empty")
    geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise _Rejected("has coordinates that are not finite numbers")

    if transformer is None:
        _check_wgs84_range(coords)
    else:
        geom = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        out = shapely.get_coordinates(geom)
        if not np.isfinite(out).all() or not _in_wgs84_range(out):
            raise _Rejected(f"coordinates do not transform from {crs.name} to valid WGS84: is the CRS right?")
        _check_area_of_use(geom, crs)

    repair: tuple[str, str] | None = None
    if not geom.is_valid:
        problem = explain_validity(geom)
        before = _count_polygons(geom)
        # "structure" keeps the area a ring encloses and unions overlapping parts, where "linework" would cut the
        # overlap out (an even-odd rule): a point in two overlapping parts of a district is in the district.
        geom, dropped = _polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))
        action = f"made valid: {before} polygon(s) became {len(geom.geoms)}"
        repair = (problem, action + (f", dropped {dropped}" if dropped else ""))
    else:
        geom, dropped = _polygonal(geom)
        if dropped:  # a GeometryCollection with lines or points beside its polygons
            repair = ("non-polygonal parts", f"dropped {dropped}")
    geom, _ = _polygonal(shapely.set_precision(geom, GRID_DEGREES))
    if simplify_tolerance:
        simplified, _ = _polygonal(shapely.simplify(geom, simplify_tolerance))
        if simplified.is_empty:
            raise _Rejected(f"nothing is left after simplifying with tolerance {simplify_tolerance}")
        geom = simplified
    if geom.is_empty or geom.area == 0:
        raise _Rejected("has no area (degenerate: its rings collapse to lines or points)")
    return shapely.orient_polygons(geom), repair


def _check_wgs84_range(coords: np.ndarray) -> None:
    if _in_wgs84_range(coords):
        return
    x, y = coords[np.argmax(np.maximum(np.abs(coords[:, 0]) / 180, np.abs(coords[:, 1]) / 90))]
    raise _Rejected(
        f"coordinate ({x:.1f}, {y:.1f}) is not a WGS84 long/lat (|long| <= 180, |lat| <= 90): the file looks "
        f"projected but declares WGS84 (or no CRS); give its CRS, e.g. --source-crs EPSG:2263"
    )


def _in_wgs84_range(coords: np.ndarray) -> bool:
    return bool((np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all())


def _check_area_of_use(geom: BaseGeometry, crs: CRS) -> None:
    use = crs.area_of_use
    if use is None:
        return
    m = AREA_OF_USE_MARGIN_DEGREES
    west, south, east, north = geom.bounds
    if east < use.west - m or west > use.east + m or north < use.south - m or south > use.north + m:
        raise _Rejected(
            f"lands at long {west:.3f}..{east:.3f}, lat {south:.3f}..{north:.3f}, outside where {crs.name} is used "
            f"({use.name}): is the CRS right?"
        )


def _count_polygons(geom: BaseGeometry) -> int:
    return sum(1 for g in _flatten(geom) if isinstance(g, Polygon))


def _parts(geom: BaseGeometry) -> Sequence[BaseGeometry]:
    return list(geom.geoms) if hasattr(geom, "geoms") else [geom]


def _flatten(geom: BaseGeometry) -> Iterator[BaseGeometry]:
    """The simple geometries of a (nested) collection, in order."""
    if hasattr(geom, "geoms"):
        for g in geom.geoms:
            yield from _flatten(g)
    else:
        yield geom


def _polygonal(geom: BaseGeometry) -> tuple[MultiPolygon, str]:
    """The valid polygons of a geometry that have an area, and what was dropped ("" when nothing)."""
    polygons: list[Polygon] = []
    dropped: Counter[str] = Counter()
    for g in _flatten(geom):
        if g.is_empty:
            continue
        if isinstance(g, Polygon):
            if g.area > 0:
                polygons.append(g)
            else:
                dropped["zero-area Polygon"] += 1
        else:
            dropped[g.geom_type] += 1
    text = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(dropped.items()))
    multi = MultiPolygon(polygons)
    if not multi.is_valid:
        # Parts that overlap or share an edge (a collection's members, a simplification): dissolve them into one.
        multi = MultiPolygon(
            [p for p in _parts(shapely.union_all(polygons)) if isinstance(p, Polygon) and p.area]
        )
    return multi, text


def _geojson(geom: MultiPolygon) -> dict[str, Any]:
    """GeoJSON with lists (not shapely's tuples), so it compares equal to what comes back from JSON."""
    g = mapping(geom)
    return {
        "type": "MultiPolygon",
        # On the grid already; rounding strips the float noise (1e-7 * k is rarely exact) from the JSON.
        "coordinates": [
            [[[round(x, 7), round(y, 7)] for x, y in ring] for ring in polygon]
            for polygon in g["coordinates"]
        ],
    }
