"""Load the gazetteer from open data: address points from CSV, street centrelines and landmarks from GeoJSON.

Rows go in with COPY, normalised by the same parser the geocoder uses on queries, so both sides compare like with
like. A load replaces the earlier rows of its `source` in that jurisdiction (reloading a file is idempotent) and then
rebuilds the jurisdiction's street index (`geo.gazetteer_streets`), all in one transaction.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from civicloop_geo.domain.addresses import (
    AddressQuery,
    StreetRef,
    normalise_direction,
    normalise_street_name,
    normalise_suffix,
    parse_address,
    parse_house_number,
    parse_street,
)

# shapely (with numpy, about 25 MB) loads when a file is read, not in every geo process that imports the CLI.
if TYPE_CHECKING:
    from shapely.geometry import MultiLineString
    from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class AddressColumns:
    """Which CSV columns hold what. The one-line `address` is parsed when the split columns are absent or empty;
    None means the file has no such column. The defaults read the City of Los Angeles 311 export."""

    address: str | None = "Address"
    house_number: str | None = "HouseNumber"
    predir: str | None = "Direction"
    street_name: str | None = "StreetName"
    suffix: str | None = "Suffix"
    unit: str | None = None
    postcode: str | None = "ZipCode"
    lat: str = "Latitude"
    long: str = "Longitude"


LA_311_COLUMNS = AddressColumns()


@dataclass(frozen=True)
class AddressRecord:
    address: AddressQuery
    lat: float
    long: float


@dataclass
class LoadReport:
    loaded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def _cell(row: dict[str, str], column: str | None) -> str:
    return (row.get(column) or "").strip() if column else ""


def point_from(lat_text: str, long_text: str) -> tuple[float, float] | None:
    """A usable WGS84 point, or None (empty, not a number, out of range, or the 0,0 that exports use for 'none')."""
    try:
        lat, long = float(lat_text), float(long_text)
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(long)) or not (-90 <= lat <= 90 and -180 <= long <= 180):
        return None
    if abs(lat) < 1e-9 and abs(long) < 1e-9:
        return None
    return lat, long


def address_from_row(row: dict[str, str], columns: AddressColumns) -> AddressQuery | None:
    one_line = parse_address(_cell(row, columns.address)) if columns.address else None
    name = _cell(row, columns.street_name)
    if not name:
        return one_line
    number = parse_house_number(_cell(row, columns.house_number)) if columns.house_number else None
    if number is None and one_line is not None:
        number = (one_line.house_number, one_line.house_number_text)
    if number is None:
        return None
    if one_line is not None and one_line.house_number == number[0]:
        number = (number[0], one_line.house_number_text)  # "8731 1/2" is only in the one-line form
    # Re-parsed as a label so stored streets split exactly as queries do ("W AVENUE 64", "ST ANDREWS PL").
    label = " ".join((_cell(row, columns.predir), name, _cell(row, columns.suffix)))
    street = parse_street(label) or StreetRef(
        normalise_street_name(name),
        normalise_direction(_cell(row, columns.predir)),
        normalise_suffix(_cell(row, columns.suffix)),
    )
    postcode = _cell(row, columns.postcode)[:5]
    if not (len(postcode) == 5 and postcode.isdigit()):
        postcode = one_line.postcode if one_line else ""
    unit = _cell(row, columns.unit).upper() or (one_line.unit if one_line else "")
    return AddressQuery(number[0], number[1], street, unit=unit, postcode=postcode)


def read_address_csv(
    path: Path,
    columns: AddressColumns = LA_311_COLUMNS,
    *,
    report: LoadReport | None = None,
    keep: Callable[[int], bool] | None = None,
) -> Iterator[AddressRecord]:
    """Usable rows of the CSV (`keep(row_index)` selects a sample); unusable ones are counted in `report`."""
    report = report if report is not None else LoadReport()
    with path.open(newline="", encoding="utf-8-sig") as f:
        for index, row in enumerate(csv.DictReader(f)):
            if keep is not None and not keep(index):
                continue
            point = point_from(_cell(row, columns.lat), _cell(row, columns.long))
            if point is None:
                report.skip("no point")
                continue
            address = address_from_row(row, columns)
            if address is None:
                report.skip("no house-numbered address")
                continue
            yield AddressRecord(address, *point)


async def _lock_jurisdiction(conn: psycopg.AsyncConnection[Any], jurisdiction_id: str) -> None:
    # Loads of one jurisdiction take turns, so the street index is rebuilt from a settled table.
    await conn.execute("select pg_advisory_xact_lock(hashtext('geo.gazetteer:' || %s))", (jurisdiction_id,))


async def refresh_street_index(conn: psycopg.AsyncConnection[Any], jurisdiction_id: str) -> None:
    await conn.execute("delete from geo.gazetteer_streets where jurisdiction_id = %s", (jurisdiction_id,))
    await conn.execute(
        """insert into geo.gazetteer_streets
             (jurisdiction_id, street_name, predir, suffix, postdir, name_metaphone, address_points, centrelines)
           select %(j)s, street_name, predir, suffix, postdir, dmetaphone(street_name), sum(p), sum(c)
             from (select street_name, predir, suffix, postdir, 1 as p, 0 as c
                     from geo.address_points where jurisdiction_id = %(j)s
                   union all
                   select street_name, predir, suffix, postdir, 0, 1
                     from geo.street_centrelines where jurisdiction_id = %(j)s) s
            group by street_name, predir, suffix, postdir""",
        {"j": jurisdiction_id},
    )


async def refresh_postcode_index(conn: psycopg.AsyncConnection[Any], jurisdiction_id: str) -> None:
    await conn.execute("delete from geo.gazetteer_postcodes where jurisdiction_id = %s", (jurisdiction_id,))
    await conn.execute(
        """with c as (select postcode, ST_Centroid(ST_Collect(geom)) as centre, count(*) as n
                        from geo.address_points where jurisdiction_id = %(j)s and postcode <> ''
                       group by postcode)
           insert into geo.gazetteer_postcodes (jurisdiction_id, postcode, centre, radius_m, address_points)
           select %(j)s, c.postcode, c.centre,
                  percentile_cont(0.9) within group (order by ST_Distance(p.geom::geography, c.centre::geography)),
                  c.n
             from c join geo.address_points p on p.jurisdiction_id = %(j)s and p.postcode = c.postcode
            group by c.postcode, c.centre, c.n""",
        {"j": jurisdiction_id},
    )


async def _analyze(pool: AsyncConnectionPool, *tables: str) -> None:
    # Fresh statistics after a bulk load, or the planner may scan instead of using the indexes.
    async with pool.connection() as conn:
        for table in tables:
            await conn.execute(f"analyze geo.{table}")


Row = tuple[Any, ...]
Refresh = Callable[[psycopg.AsyncConnection[Any], str], Awaitable[None]]


async def _replace_source(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    *,
    table: str,
    columns: str,
    rows: Iterable[Row | None],
    source: str,
    report: LoadReport,
    refresh: Sequence[Refresh] = (),
    analyze: Sequence[str] = (),
) -> LoadReport:
    """In one transaction, the rows of `source` in `table` replaced by `rows` (COPY; a None row is skipped), then
    the derived indexes refreshed; then fresh statistics. `table` and `columns` are this module's constants."""
    async with pool.connection() as conn, conn.transaction():
        await _lock_jurisdiction(conn, jurisdiction_id)
        await conn.execute(
            f"delete from geo.{table} where jurisdiction_id = %s and source = %s", (jurisdiction_id, source)
        )
        cur = conn.cursor()
        async with cur.copy(f"copy geo.{table} ({columns}, source) from stdin") as copy:
            for row in rows:
                if row is None:
                    continue
                await copy.write_row((*row, source))
                report.loaded += 1
        for step in refresh:
            await step(conn, jurisdiction_id)
    await _analyze(pool, table, *analyze)
    return report


async def load_address_points(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    records: Iterable[AddressRecord],
    *,
    source: str,
    report: LoadReport | None = None,
) -> LoadReport:
    """COPY the records in (the first of each repeated address wins), replacing the rows of `source`."""
    report = report if report is not None else LoadReport()
    seen: set[tuple[str, str, str]] = set()

    def rows() -> Iterator[Row | None]:
        for record in records:
            a = record.address
            key = (a.key(), a.unit, a.postcode)
            if key in seen:
                report.skip("repeated address")
                yield None
                continue
            seen.add(key)
            s = a.street
            yield (
                jurisdiction_id,
                a.house_number,
                a.house_number_text,
                s.predir,
                s.name,
                s.suffix,
                s.postdir,
                a.unit,
                a.postcode,
                a.format(),
                f"SRID=4326;POINT({record.long!r} {record.lat!r})",
            )

    return await _replace_source(
        pool,
        jurisdiction_id,
        table="address_points",
        rows=rows(),
        source=source,
        report=report,
        columns="jurisdiction_id, house_number, house_number_text, predir, street_name, suffix, postdir, unit,"
        " postcode, full_address, geom",
        refresh=(refresh_street_index, refresh_postcode_index),
        analyze=("gazetteer_streets", "gazetteer_postcodes"),
    )


async def load_address_csv(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    path: Path,
    columns: AddressColumns = LA_311_COLUMNS,
    *,
    keep: Callable[[int], bool] | None = None,
    source: str | None = None,
) -> LoadReport:
    report = LoadReport()
    records = read_address_csv(path, columns, report=report, keep=keep)
    return await load_address_points(
        pool, jurisdiction_id, records, source=source or path.name, report=report
    )


def _features(path: Path) -> list[tuple[dict[str, Any], BaseGeometry | None]]:
    """Each GeoJSON feature of the file as (its properties, its geometry or None when it has none readable)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        features = list(data.get("features") or [])
    else:
        features = [data] if data.get("type") == "Feature" else []
    return [(feature.get("properties") or {}, _geometry(feature)) for feature in features]


def _geometry(feature: dict[str, Any]) -> BaseGeometry | None:
    from shapely.geometry import shape

    try:
        geom = shape(feature["geometry"]) if feature.get("geometry") else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None if geom is None or geom.is_empty else geom


def _int_or_none(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Centreline:
    street: StreetRef
    geom: MultiLineString
    from_number: int | None = None
    to_number: int | None = None


@dataclass(frozen=True)
class Landmark:
    name: str
    kind: str
    lat: float
    long: float


def read_centrelines(
    path: Path,
    *,
    name_property: str = "name",
    from_property: str | None = None,
    to_property: str | None = None,
    report: LoadReport | None = None,
) -> list[Centreline]:
    """LineString/MultiLineString features; the name property holds the whole street label ("W 3RD ST")."""
    from shapely.geometry import LineString, MultiLineString

    report = report if report is not None else LoadReport()
    out: list[Centreline] = []
    for props, geom in _features(path):
        if isinstance(geom, LineString):
            geom = MultiLineString([geom])
        if not isinstance(geom, MultiLineString):
            report.skip("not a line")
            continue
        street = parse_street(str(props.get(name_property) or ""))
        if street is None:
            report.skip("no street name")
            continue
        out.append(
            Centreline(
                street,
                geom,
                _int_or_none(props.get(from_property)) if from_property else None,
                _int_or_none(props.get(to_property)) if to_property else None,
            )
        )
    return out


def read_landmarks(
    path: Path,
    *,
    name_property: str = "name",
    kind_property: str | None = None,
    report: LoadReport | None = None,
) -> list[Landmark]:
    """Point features (an area's representative point for polygons: a park, a campus)."""
    report = report if report is not None else LoadReport()
    out: list[Landmark] = []
    for props, geom in _features(path):
        if geom is None:
            report.skip("no geometry")
            continue
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        name = " ".join(str(props.get(name_property) or "").split())
        if not name:
            report.skip("no name")
            continue
        kind = str(props.get(kind_property) or "") if kind_property else ""
        out.append(Landmark(name, kind, point.y, point.x))
    return out


async def load_centrelines(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    lines: Iterable[Centreline],
    *,
    source: str,
    report: LoadReport | None = None,
) -> LoadReport:
    rows = (
        (
            jurisdiction_id,
            line.street.predir,
            line.street.name,
            line.street.suffix,
            line.street.postdir,
            line.from_number,
            line.to_number,
            f"SRID=4326;{line.geom.wkt}",
        )
        for line in lines
    )
    return await _replace_source(
        pool,
        jurisdiction_id,
        table="street_centrelines",
        rows=rows,
        source=source,
        report=report if report is not None else LoadReport(),
        columns="jurisdiction_id, predir, street_name, suffix, postdir, from_number, to_number, geom",
        refresh=(refresh_street_index,),
        analyze=("gazetteer_streets",),
    )


async def load_landmarks(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    landmarks: Iterable[Landmark],
    *,
    source: str,
    report: LoadReport | None = None,
) -> LoadReport:
    rows = (
        (jurisdiction_id, lm.name, lm.kind, f"SRID=4326;POINT({lm.long!r} {lm.lat!r})") for lm in landmarks
    )
    return await _replace_source(
        pool,
        jurisdiction_id,
        table="landmarks",
        rows=rows,
        source=source,
        report=report if report is not None else LoadReport(),
        columns="jurisdiction_id, name, kind, geom",
    )


async def load_streets_geojson(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    path: Path,
    *,
    name_property: str = "name",
    from_property: str | None = None,
    to_property: str | None = None,
    source: str | None = None,
) -> LoadReport:
    report = LoadReport()
    lines = read_centrelines(
        path, name_property=name_property, from_property=from_property, to_property=to_property, report=report
    )
    return await load_centrelines(pool, jurisdiction_id, lines, source=source or path.name, report=report)


async def load_landmarks_geojson(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    path: Path,
    *,
    name_property: str = "name",
    kind_property: str | None = None,
    source: str | None = None,
) -> LoadReport:
    report = LoadReport()
    landmarks = read_landmarks(path, name_property=name_property, kind_property=kind_property, report=report)
    return await load_landmarks(pool, jurisdiction_id, landmarks, source=source or path.name, report=report)
