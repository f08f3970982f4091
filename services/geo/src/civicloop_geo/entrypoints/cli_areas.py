"""`civicloop-geo areas`: load boundary files as `ServiceAreaDefined` events, list the areas geo knows.

`load` publishes to the log only; geo (and the projections) fold the events into their own tables. Loading the same
file twice publishes every area again, as a new version each (the log is the record of every definition).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from civicloop_events import Actor, Event, ServiceAreaDefined
from civicloop_events.envelope import ActorKind
from civicloop_events.producer import EventProducer
from civicloop_events.registry import encode_event
from civicloop_runtime.db import open_pool
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civicloop_geo.adapters.area_store import PostgresAreaResolver
from civicloop_geo.settings import GeoSettings

if TYPE_CHECKING:
    from civicloop_geo.domain.boundaries import BoundaryReport

ACTOR = Actor(kind=ActorKind.system, id="geo-cli")
SOURCE = "cli"
# Under the producer's default max_request_size (1 MiB) and the broker's max.message.bytes, with headers to spare.
MAX_EVENT_BYTES = 1_000_000

areas_app = typer.Typer(
    help="Service areas: load boundary files, list what geo holds.",
    no_args_is_help=True,
    add_completion=False,
)


@areas_app.command()
def load(
    file: Annotated[
        Path, typer.Argument(help=".geojson, .shp (with .shx/.dbf/.prj beside it) or a .zip of those")
    ],
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="jurisdiction id the areas belong to"),
    kind: str = typer.Option(
        ..., help='area kind: council_district, ward, ... ("boundary" = the jurisdiction)'
    ),
    id_property: str | None = typer.Option(None, help="feature property holding the area id"),
    id_template: str | None = typer.Option(
        None, help='or a template over the properties, e.g. "{boro}-{num}"'
    ),
    name_property: str | None = typer.Option(None, help="feature property holding the display name"),
    name_template: str | None = typer.Option(
        None, help='or a template, e.g. "Ward {Ward}" (default: the id)'
    ),
    id_prefix: str = typer.Option("", help='prepended to every id, e.g. "nc-"'),
    source_crs: str | None = typer.Option(
        None,
        help="CRS of the coordinates (EPSG:2263, WKT...) when the file's own declaration is missing or wrong",
    ),
    simplify: float | None = typer.Option(
        None,
        min=0,
        help="simplification tolerance in degrees; off by default (it can open gaps between neighbours)",
    ),
    source: str | None = typer.Option(None, help="where the boundaries came from (default: the file name)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and show, publish nothing"),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="publish the valid areas even if some are rejected"
    ),
) -> None:
    """Validate a boundary file and publish one ServiceAreaDefined per area on jurisdiction.config."""
    # numpy, shapely and pyproj (about 30 MB) load only for this command, not in every process that starts from the
    # CLI (`serve`, `consume`).
    from civicloop_geo.adapters.boundary_files import BoundaryFileError, read_boundary_file
    from civicloop_geo.domain.boundaries import AreaNaming, BoundaryError, prepare_areas

    console = Console()
    err = Console(stderr=True)
    try:
        naming = AreaNaming(
            id_property=id_property,
            name_property=name_property,
            id_template=id_template,
            name_template=name_template,
            id_prefix=id_prefix,
        )
        boundary_file = read_boundary_file(file)
        report = prepare_areas(
            boundary_file.features,
            naming=naming,
            crs=source_crs or boundary_file.crs,
            simplify_tolerance=simplify,
        )
    except (BoundaryFileError, BoundaryError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None

    show_report(console, report, file=file, features=len(boundary_file.features))
    if report.rejected and not skip_invalid:
        err.print(
            f"[red]{len(report.rejected)} feature(s) rejected[/red]: fix the file, or publish the other "
            f"{len(report.areas)} with --skip-invalid. Nothing was published."
        )
        raise typer.Exit(1)
    if not report.areas:
        err.print("[red]no areas to publish[/red]")
        raise typer.Exit(1)

    events = [
        Event.create(
            ServiceAreaDefined(
                area_id=a.area_id,
                name=a.name,
                kind=kind,
                geometry=a.geometry,
                source=source if source is not None else file.name,
            ),
            request_id=None,
            jurisdiction_id=jurisdiction,
            actor=ACTOR,
            source=SOURCE,
        )
        for a in report.areas
    ]
    # Checked before anything is sent, so an oversized area cannot leave a file half published.
    too_large = [(e.payload.area_id, n) for e in events if (n := len(encode_event(e))) > MAX_EVENT_BYTES]
    if too_large:
        listed = ", ".join(f"{area_id} ({n / 1e6:.1f} MB)" for area_id, n in too_large)
        err.print(
            f"[red]too large for one event[/red] (limit {MAX_EVENT_BYTES / 1e6:.1f} MB): {listed}; "
            f"simplify them (--simplify 0.00001 is about a metre). Nothing was published."
        )
        raise typer.Exit(1)
    if dry_run:
        console.print(f"dry run: {len(events)} area(s) would be published; nothing was")
        return

    settings = GeoSettings()
    topic = settings.topics.jurisdiction_config
    asyncio.run(_publish(settings, topic, events, console))
    console.print(f"published {len(events)} ServiceAreaDefined to {topic} for jurisdiction {jurisdiction!r}")


async def _publish(settings: GeoSettings, topic: str, events: list[Event], console: Console) -> None:
    producer = EventProducer(settings.kafka_bootstrap, topic, client_id="civicloop-geo-cli")
    await producer.start()
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("publish", total=len(events))
            for event in events:
                await producer.publish(event)
                progress.advance(task)
    finally:
        await producer.stop()


def show_report(console: Console, report: BoundaryReport, *, file: Path, features: int) -> None:
    crs = report.source_crs + (" -> WGS 84" if report.transformed else "")
    console.print(f"{file.name}: {features} feature(s), CRS {crs}")
    areas = Table(
        "#", "area id", "name", "polygons", "vertices", "km²", title=f"{len(report.areas)} area(s) to publish"
    )
    for a in report.areas:
        areas.add_row(
            str(a.feature_index), a.area_id, a.name, str(a.polygons), str(a.vertices), f"{a.area_km2:.2f}"
        )
    console.print(areas)
    if report.repaired:
        repaired = Table("#", "area id", "problem", "repair", title=f"{len(report.repaired)} repaired")
        for r in report.repaired:
            repaired.add_row(str(r.feature_index), r.area_id, r.problem, r.action)
        console.print(repaired)
    if report.rejected:
        rejected = Table(
            "#", "area id", "reason", title=f"{len(report.rejected)} rejected", title_style="red"
        )
        for x in report.rejected:
            rejected.add_row(str(x.feature_index), x.area_id or "-", x.reason)
        console.print(rejected)


@areas_app.command("list")
def list_(
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="jurisdiction id"),
    kind: str | None = typer.Option(None, help="only areas of this kind"),
) -> None:
    """The current version of each area geo has folded for the jurisdiction."""
    settings = GeoSettings()

    async def main() -> list:
        pool = await open_pool(settings.pg_dsn, min_size=1, max_size=1, name="civicloop-geo-cli")
        try:
            return await PostgresAreaResolver(pool).list_areas(jurisdiction, kind)
        finally:
            await pool.close()

    rows = asyncio.run(main())
    table = Table(
        "area id",
        "kind",
        "name",
        "version",
        "km²",
        "vertices",
        "defined at",
        "source",
        title=f"{len(rows)} service area(s) of {jurisdiction}",
    )
    for a in rows:
        table.add_row(
            a.area_id,
            a.kind,
            a.name,
            str(a.version),
            f"{a.area_km2:.2f}",
            str(a.vertices),
            a.defined_at.isoformat(timespec="seconds"),
            a.source,
        )
    Console().print(table)
