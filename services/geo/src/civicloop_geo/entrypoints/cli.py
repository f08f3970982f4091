"""`civicloop-geo`: migrate, serve (HTTP + consumers + cluster sweep), consume, sweep clusters; areas; gazetteer."""

from __future__ import annotations

import asyncio
from typing import Any

from civicloop_events import Event
from civicloop_runtime.cli import print_row_counts, run_rebuild, service_cli
from civicloop_runtime.content_hash import ReadModelHash
from civicloop_runtime.process import configured
from civicloop_runtime.rebuild import Progress
from civicloop_runtime.service_commands import add_consume, without_consumers
from rich.console import Console
from rich.table import Table

from civicloop_geo import database
from civicloop_geo.bootstrap import bootstrap
from civicloop_geo.entrypoints.cli_areas import areas_app
from civicloop_geo.entrypoints.cli_gazetteer import gazetteer_app
from civicloop_geo.entrypoints.http import SERVICE, app_from_environment
from civicloop_geo.entrypoints.rebuild import content_hash, rebuild
from civicloop_geo.settings import GeoSettings

app = service_cli(
    name="civicloop-geo",
    help="CivicLoop geo: places, service areas, duplicates and clusters.",
    schemas=database.SCHEMAS,
    serve_app=app_from_environment,
    port=8004,
    serve_help="The HTTP API, with the consumers and the cluster sweep running in the background.",
)
app.add_typer(
    areas_app, name="areas", help="Service areas: load boundary files (GeoJSON, Shapefile), list them."
)
app.add_typer(
    gazetteer_app, name="gazetteer", help="The local gazetteer: load address points, streets, landmarks."
)


add_consume(
    app,
    SERVICE,
    GeoSettings,
    bootstrap,
    help="The consumers and the cluster sweep only, no HTTP; stops cleanly on SIGINT/SIGTERM.",
)


@app.command("sweep-clusters")
def sweep_clusters() -> None:
    """Run one cluster sweep now and print what it announced."""
    settings = configured(SERVICE, GeoSettings)

    async def main() -> list[Event[Any]]:
        topic = settings.topics.request_events
        async with without_consumers(bootstrap, settings, topic=topic, client_id="civicloop-geo") as geo:
            return await geo.sweep_once() or []

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


@app.command("rebuild")
def rebuild_cmd() -> None:
    """Empty geo's read model and positions, replay the log from offset 0 (nothing published), report row counts."""
    settings = configured(SERVICE, GeoSettings)

    async def main(on_progress: Progress) -> tuple[dict[str, int], ReadModelHash]:
        # The runners need the dead-letter producer; the consumers themselves are the rebuild's to run.
        topic = settings.topics.dead_letters
        async with without_consumers(bootstrap, settings, topic=topic, client_id="civicloop-geo") as geo:
            counts = await rebuild(geo, on_progress=on_progress)
            async with geo.pool.connection() as conn:
                return counts, await content_hash(conn)

    counts, hashes = run_rebuild(main)
    print_row_counts(counts, schema="geo", title="geo rebuilt", hashes=hashes)


if __name__ == "__main__":
    app()
