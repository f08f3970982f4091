"""`civicloop-geo`: migrate, serve (HTTP + consumers + cluster sweep), consume, sweep clusters; areas; gazetteer."""

from __future__ import annotations

import asyncio

import typer
from civicloop_runtime.logs import configure_logging
from civicloop_runtime.signals import wait_for_stop_signal
from civicloop_runtime.telemetry import configure_tracing
from rich.console import Console
from rich.table import Table

from civicloop_geo.bootstrap import bootstrap
from civicloop_geo.database import migrate as run_migrations
from civicloop_geo.entrypoints.background import ClusterSweeper, start_consumers, stop_consumers, sweep_once
from civicloop_geo.entrypoints.cli_areas import areas_app
from civicloop_geo.entrypoints.cli_gazetteer import gazetteer_app
from civicloop_geo.entrypoints.http import create_app
from civicloop_geo.settings import GeoSettings

SERVICE = "geo"
app = typer.Typer(
    help="CivicLoop geo: places, service areas, duplicates and clusters.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(
    areas_app, name="areas", help="Service areas: load boundary files (GeoJSON, Shapefile), list them."
)
app.add_typer(
    gazetteer_app, name="gazetteer", help="The local gazetteer: load address points, streets, landmarks."
)


def _settings() -> GeoSettings:
    settings = GeoSettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    return settings


@app.command()
def migrate() -> None:
    """Apply this service's Alembic migrations (schema `geo`)."""
    settings = _settings()
    run_migrations(settings.sqlalchemy_url)
    typer.echo("geo: migrations at head")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8004, help="TCP port"),
) -> None:
    """The HTTP API, with the consumers and the cluster sweep running in the background."""
    import uvicorn

    settings = _settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@app.command()
def consume() -> None:
    """The consumers and the cluster sweep only, no HTTP; stops cleanly on SIGINT/SIGTERM."""
    settings = _settings()

    async def main() -> None:
        geo = await bootstrap(settings, with_producer=True)
        supervisors = start_consumers(geo)
        sweeper = ClusterSweeper(geo)
        sweeper.start()
        try:
            await wait_for_stop_signal()
        finally:
            await sweeper.stop()
            await stop_consumers(supervisors)
            await geo.close()

    asyncio.run(main())


@app.command("sweep-clusters")
def sweep_clusters() -> None:
    """Run one cluster sweep now and print what it announced."""
    settings = _settings()

    async def main() -> list:
        geo = await bootstrap(settings, with_producer=True)
        try:
            return await sweep_once(geo) or []
        finally:
            await geo.close()

    events = asyncio.run(main())
    table = Table("jurisdiction", "category", "requests", "radius m", "H3 cell", title="clusters announced")
    for e in events:
        table.add_row(
            e.jurisdiction_id,
            e.payload.service_code,
            str(len(e.payload.request_ids)),
            f"{e.payload.radius_m:.0f}",
            e.payload.centre.h3_cell,
        )
    Console().print(table)


if __name__ == "__main__":
    app()
