"""`civicloop-projections`: migrate, serve (HTTP + consumers), consume (consumers only), rebuild from the log."""

from __future__ import annotations

import asyncio

import typer
from civicloop_runtime import migrations
from civicloop_runtime.logs import configure_logging
from civicloop_runtime.signals import wait_for_stop_signal
from civicloop_runtime.telemetry import configure_tracing
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civicloop_projections.bootstrap import bootstrap
from civicloop_projections.entrypoints.consumers import start_consumers, stop_consumers
from civicloop_projections.entrypoints.http import MIGRATIONS, create_app
from civicloop_projections.entrypoints.rebuild import ConsumersStillRunning, rebuild
from civicloop_projections.settings import SCHEMA, ProjectionSettings

SERVICE = "public-projections"
app = typer.Typer(
    help="CivicLoop projections: read models folded from the log.", no_args_is_help=True, add_completion=False
)


def _settings() -> ProjectionSettings:
    settings = ProjectionSettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    return settings


@app.command()
def migrate() -> None:
    """Apply this service's Alembic migrations (schema `projections`)."""
    settings = _settings()
    migrations.upgrade(settings.sqlalchemy_url, MIGRATIONS, SCHEMA)
    typer.echo("projections: migrations at head")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8002, help="TCP port"),
) -> None:
    """The HTTP API, with both consumers running in the background."""
    import uvicorn

    settings = _settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@app.command()
def consume() -> None:
    """The consumers only, no HTTP (scale them by partitions); stops cleanly on SIGINT/SIGTERM."""
    settings = _settings()

    async def main() -> None:
        projections = await bootstrap(settings, with_consumers=True)
        supervisors = start_consumers(projections)
        try:
            await wait_for_stop_signal()
        finally:
            await stop_consumers(supervisors)
            await projections.close()

    asyncio.run(main())


@app.command("rebuild")
def rebuild_cmd() -> None:
    """Empty this service's tables and positions, replay the log from offset 0, then report the row counts."""
    settings = _settings()
    console = Console(stderr=True)

    async def main() -> dict[str, int]:
        projections = await bootstrap(settings, with_consumers=True)
        columns = (TextColumn("replaying the log"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
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
            await projections.close()

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
