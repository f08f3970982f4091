"""`civicloop-projections`: migrate, serve (HTTP + consumers), consume (consumers only), rebuild from the log."""

from __future__ import annotations

from pathlib import Path

import typer
from civicloop_runtime.cli import print_row_counts, run_rebuild, service_cli
from civicloop_runtime.content_hash import ReadModelHash
from civicloop_runtime.process import configured
from civicloop_runtime.rebuild import Progress
from civicloop_runtime.service_commands import add_consume, without_consumers

from civicloop_projections import database
from civicloop_projections.adapters import tables
from civicloop_projections.bootstrap import bootstrap
from civicloop_projections.entrypoints.http import SERVICE, app_from_environment
from civicloop_projections.entrypoints.open_data import export_with_progress
from civicloop_projections.entrypoints.rebuild import rebuild
from civicloop_projections.settings import SCHEMA, ProjectionSettings

app = service_cli(
    name="civicloop-projections",
    help="CivicLoop projections: read models folded from the log.",
    schemas=database.SCHEMAS,
    serve_app=app_from_environment,
    port=8002,
    serve_help="The HTTP API, with both consumers running in the background.",
)


add_consume(
    app,
    SERVICE,
    ProjectionSettings,
    bootstrap,
    help="The consumers only, no HTTP (scale them by partitions); stops cleanly on SIGINT/SIGTERM.",
)


@app.command("rebuild")
def rebuild_cmd() -> None:
    """Empty this service's tables and positions, replay the log from offset 0, then report the row counts."""
    settings = configured(SERVICE, ProjectionSettings)

    async def main(on_progress: Progress) -> tuple[dict[str, int], ReadModelHash]:
        # The runners need the dead-letter producer; the consumers themselves are the rebuild's to run.
        topic = settings.topics.dead_letters
        async with without_consumers(
            bootstrap, settings, topic=topic, client_id="civicloop-projections"
        ) as projections:
            counts = await rebuild(projections, on_progress=on_progress)
            async with projections.pool.connection() as conn:
                return counts, await tables.content_hash(conn)

    counts, hashes = run_rebuild(main)
    print_row_counts(counts, schema=SCHEMA, title="projections rebuilt", hashes=hashes)


@app.command("open-data")
def open_data_cmd(
    directory: str = typer.Option(
        "", "--dir", help="where to write the export (default: CIVICLOOP_OPEN_DATA_DIR, .run/open-data)"
    ),
) -> None:
    """Export every request without personal data (CSV, GeoJSON, the data dictionary) from the public read model,
    into a new directory under the export directory, and point `latest` at it; the line a cron runs."""
    settings = configured(SERVICE, ProjectionSettings)
    if directory:
        settings = settings.model_copy(update={"open_data_dir": Path(directory)})
    result = export_with_progress(settings)
    typer.echo(f"open-data export {result.export_id}: {result.rows} requests in {result.path}")


if __name__ == "__main__":
    app()
