"""`civicloop-geo gazetteer ...`: load address points, centrelines and landmarks; geocode and reverse from a shell."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from civicloop_runtime.db import open_pool
from psycopg_pool import AsyncConnectionPool
from rich.console import Console
from rich.table import Table

from civicloop_geo.adapters.gazetteer_loader import (
    LA_311_COLUMNS,
    LoadReport,
    load_address_csv,
    load_landmarks_geojson,
    load_streets_geojson,
)
from civicloop_geo.adapters.geocoders import make_geocoder
from civicloop_geo.domain.places import GeocodeResult
from civicloop_geo.settings import GeoSettings

gazetteer_app = typer.Typer(
    help="The local gazetteer: load open data, geocode, reverse geocode.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
T = TypeVar("T")

Jurisdiction = Annotated[str, typer.Option("--jurisdiction", "-j", help="jurisdiction id the rows belong to")]


def _run(work: Callable[[GeoSettings, AsyncConnectionPool], Awaitable[T]]) -> T:
    settings = GeoSettings()

    async def main() -> T:
        pool = await open_pool(settings.pg_dsn, min_size=1, max_size=2, name="geo-gazetteer-cli")
        try:
            return await work(settings, pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def _report(what: str, report: LoadReport) -> None:
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items())) or "none"
    console.print(f"{what}: loaded {report.loaded}; skipped {report.skipped_total} ({skipped})")


def _show(results: list[GeocodeResult]) -> None:
    if not results:
        console.print("no match")
        raise typer.Exit(code=1)
    table = Table("address", "lat", "long", "confidence", "kind", "provider")
    for r in results:
        table.add_row(
            r.address, f"{r.lat:.6f}", f"{r.long:.6f}", f"{r.confidence:.2f}", r.kind.value, r.provider
        )
    console.print(table)


@gazetteer_app.command("load-addresses")
def load_addresses(
    csv_path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV in the LA 311 layout")],
    jurisdiction: Jurisdiction,
    limit: Annotated[int | None, typer.Option(min=1, help="read only the first N data rows")] = None,
    every_nth: Annotated[int, typer.Option(min=1, help="load every Nth data row (a sample)")] = 1,
    nth_offset: Annotated[int, typer.Option(min=0, help="which row of each N to load (0-based)")] = 0,
) -> None:
    """Load address points from a CSV with COPY (rows without a point or a house-numbered address are skipped)."""

    def keep(index: int) -> bool:
        return (limit is None or index < limit) and index % every_nth == nth_offset % every_nth

    async def work(settings: GeoSettings, pool: AsyncConnectionPool) -> LoadReport:
        return await load_address_csv(pool, jurisdiction, csv_path, LA_311_COLUMNS, keep=keep)

    _report("address points", _run(work))


@gazetteer_app.command("load-streets")
def load_streets(
    geojson: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="LineString/MultiLineString")],
    jurisdiction: Jurisdiction,
    name_property: Annotated[
        str, typer.Option(help="property holding the street label, e.g. 'W 3RD ST'")
    ] = "name",
    from_property: Annotated[
        str | None, typer.Option(help="property with the line's first house number")
    ] = None,
    to_property: Annotated[
        str | None, typer.Option(help="property with the line's last house number")
    ] = None,
) -> None:
    """Load street centrelines (for intersections, and for numbers the address points do not cover)."""

    async def work(settings: GeoSettings, pool: AsyncConnectionPool) -> LoadReport:
        return await load_streets_geojson(
            pool,
            jurisdiction,
            geojson,
            name_property=name_property,
            from_property=from_property,
            to_property=to_property,
        )

    _report("street centrelines", _run(work))


@gazetteer_app.command("load-landmarks")
def load_landmarks(
    geojson: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Point (or polygon) features")],
    jurisdiction: Jurisdiction,
    name_property: Annotated[str, typer.Option(help="property holding the landmark's name")] = "name",
    kind_property: Annotated[
        str | None, typer.Option(help="property with its kind (school, library)")
    ] = None,
) -> None:
    """Load landmarks ("near Lincoln Elementary", "by the library")."""

    async def work(settings: GeoSettings, pool: AsyncConnectionPool) -> LoadReport:
        return await load_landmarks_geojson(
            pool, jurisdiction, geojson, name_property=name_property, kind_property=kind_property
        )

    _report("landmarks", _run(work))


async def _close(geocoder: Any) -> None:
    if hasattr(geocoder, "aclose"):
        await geocoder.aclose()


@gazetteer_app.command()
def geocode(
    query: Annotated[str, typer.Argument(help="an address, 'A St & B Ave', or 'near <landmark>'")],
    jurisdiction: Jurisdiction,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
) -> None:
    """Candidates for an address, best first, with the geocoder the settings choose."""

    async def work(settings: GeoSettings, pool: AsyncConnectionPool) -> list[GeocodeResult]:
        geocoder = make_geocoder(settings, pool)
        try:
            return await geocoder.geocode(jurisdiction, query, limit=limit)
        finally:
            await _close(geocoder)

    _show(_run(work))


@gazetteer_app.command()
def reverse(
    lat: Annotated[float, typer.Argument(min=-90, max=90)],
    long: Annotated[float, typer.Argument(min=-180, max=180)],
    jurisdiction: Jurisdiction,
) -> None:
    """The address nearest to a point (a negative number goes after `--`: `reverse -j la -- 34.07 -118.26`)."""

    async def work(settings: GeoSettings, pool: AsyncConnectionPool) -> GeocodeResult | None:
        geocoder = make_geocoder(settings, pool)
        try:
            return await geocoder.reverse(jurisdiction, lat, long)
        finally:
            await _close(geocoder)

    result = _run(work)
    _show([result] if result else [])
