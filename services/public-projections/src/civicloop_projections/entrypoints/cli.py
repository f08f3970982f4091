"""`civicloop-projections`: migrate, serve (HTTP + consumers), consume (consumers only), rebuild from the log."""

from __future__ import annotations

import asyncio

import typer
from civicloop_runtime.cli import service_cli
from civicloop_runtime.process import configured
from civicloop_runtime.service_commands import add_consume, without_consumers
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civicloop_projections import database
from civicloop_projections.bootstrap import bootstrap
from civicloop_projections.entrypoints.http import SERVICE, app_from_environment
from civicloop_projections.entrypoints.rebuild import ConsumersStillRunning, rebuild
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
    console = Console(stderr=True)

    async def main() -> dict[str, int]:
        # The runners need the dead-letter producer; the consumers themselves are the rebuild's to run.
        topic = settings.topics.dead_letters
        async with without_consumers(
            bootstrap, settings, topic=topic, client_id="civicloop-projections"
        ) as projections:
            columns = (
                TextColumn("replaying the log"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            progress = Progress(*columns, console=console)
            task = progress.add_task("replay", total=None, start=False)

            def show(done: int, total: int) -> None:
                if not progress.live.is_started:  # only once the rebuild has begun (it may refuse to)
                    progress.start()
                    progress.start_task(task)
                progress.update(task, completed=done, total=total)

            try:
                return await rebuild(projections, on_progress=show)
            finally:
                progress.stop()

    try:
        counts = asyncio.run(main())
    except ConsumersStillRunning as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table("table", "rows", title="projections rebuilt")
    for name, count in counts.items():
        table.add_row(f"{SCHEMA}.{name}", str(count))
    Console().print(table)


if __name__ == "__main__":
    app()
