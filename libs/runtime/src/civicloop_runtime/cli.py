"""The command line every service starts from: `migrate` and `serve`, to which a service adds its own commands.

app = service_cli(name="civicloop-geo", help="...", migrate=database.migrate, serve_app=..., port=8004)
app.add_typer(areas_app, name="areas")  # and @app.command() for the service's own

A process without a database passes no `schemas` and gets no `migrate`; one whose `serve` takes options of its own
passes no `serve_app` and adds its own `serve`, which starts the server with `run_server`. A service that keeps
commands in outboxes adds `sweep-pending` with `add_sweep_pending`. A command ends with an error through `fail`, and
reads the database through `command_pool`. A `rebuild` command runs through `run_rebuild` and reports with
`print_row_counts`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from civicloop_events.applied import close_listener
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from civicloop_runtime.content_hash import ReadModelHash
from civicloop_runtime.db import open_pool
from civicloop_runtime.migrations import Schemas
from civicloop_runtime.process import exit_stopped
from civicloop_runtime.rebuild import ConsumersStillRunning, Progress
from civicloop_runtime.settings import ProcessSettings, ServiceSettings

T = TypeVar("T")

HOST = typer.Option("127.0.0.1", help="interface to listen on")


def service_cli(
    *,
    name: str,
    help: str,
    schemas: Schemas = (),
    serve_app: Callable[[], FastAPI] | None = None,
    port: int = 8000,
    serve_help: str = "Serve the HTTP API (JSON logs on stdout, traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set).",
) -> typer.Typer:
    """`schemas` are the service's (schema, Alembic script location) pairs, migrated in order; `serve_app` is the
    service's `app_from_environment` (the process's logs and tracing set up, then the app built)."""
    app = typer.Typer(name=name, help=help, no_args_is_help=True, add_completion=False)

    if schemas:

        @app.command("migrate")
        def migrate_cmd() -> None:
            """Apply this service's database migrations, schema by schema (idempotent)."""
            from civicloop_runtime.migrations import upgrade

            # Only the database is needed, so migrating never asks for the service's secrets.
            url = ServiceSettings().sqlalchemy_url
            for schema, script_location in schemas:
                upgrade(url, script_location, schema)
                typer.echo(f"schema {schema}: at head")

    if serve_app is not None:
        build = serve_app

        @app.command("serve", help=serve_help)
        def serve_cmd(host: str = HOST, port: int = typer.Option(port, help="TCP port")) -> None:
            run_server(build(), host=host, port=port)

    return app


def add_sweep_pending(
    app: typer.Typer, sweep_once: Callable[[float], Coroutine[Any, Any, int]], *, help: str
) -> None:
    """`sweep-pending`: one sweep of the service's outboxes outside its process; `sweep_once(older_than_s)` publishes
    the rows pending at least that long and says how many."""

    @app.command("sweep-pending", help=help)
    def sweep_pending(
        older_than_s: float = typer.Option(60.0, help="publish rows pending at least this long"),
    ) -> None:
        import asyncio

        swept = asyncio.run(sweep_once(older_than_s))
        typer.echo(f"published {swept} pending row(s)")


def run_server(app: FastAPI, *, host: str, port: int) -> None:
    """Serve `app` with uvicorn, without uvicorn's access log (it would print query strings: track's carries a
    phone, a partner's an api_key); the app logs each request itself, path only. uvicorn's own X-Forwarded-For
    handling is off: the rate limits decide which proxies to believe (`civicloop_runtime.rate_limits`).

    On SIGTERM (or SIGINT) uvicorn stops accepting connections, gives the requests in flight `shutdown_grace_s`
    before it cancels them, then shuts the app down (`Service.close`, bounded the same). It then raises the signal
    again for whatever handled it before: a stop asked for is a normal exit, so that handler does nothing, and the
    process ends at once (`process.exit_stopped`)."""
    import signal

    import uvicorn

    grace_s = ProcessSettings().shutdown_grace_s
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: None)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, round(grace_s)),
    )
    exit_stopped()


def fail(message: str) -> typer.Exit:
    """The error on stderr; raise what this returns to end the command with exit code 1."""
    from rich.console import Console  # typer's own dependency

    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=1)


@asynccontextmanager
async def command_pool(dsn: str, *, name: str) -> AsyncIterator[AsyncConnectionPool]:
    """A one-connection pool for the length of a command, closed when it ends."""
    pool = await open_pool(dsn, min_size=1, max_size=1, name=name)
    try:
        yield pool
    finally:
        await close_listener(pool)
        await pool.close()


def run_rebuild(rebuild: Callable[[Progress], Awaitable[T]]) -> T:
    """A service's `rebuild` command: `rebuild(on_progress)` run with a progress bar on stderr (shown once the
    replay has begun: it may refuse to); exit code 1 when the consumers still run."""
    from rich.console import Console  # typer's own dependency
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    bar = Bar(
        TextColumn("replaying the log"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = bar.add_task("replay", total=None, start=False)

    def show(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
            bar.start_task(task)
        bar.update(task, completed=done, total=total)

    async def main() -> T:
        try:
            return await rebuild(show)
        finally:
            bar.stop()

    try:
        return asyncio.run(main())
    except ConsumersStillRunning as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def print_row_counts(
    counts: Mapping[str, int], *, schema: str, title: str, hashes: ReadModelHash | None = None
) -> None:
    """What a rebuild left in each of its tables, and their content hashes (`civicloop_runtime.content_hash`) when
    given: one line per table, then the read model's, in plain `content-sha256` lines a script can compare."""
    from rich.console import Console
    from rich.table import Table

    table = Table("table", "rows", title=title)
    for name, count in counts.items():
        table.add_row(f"{schema}.{name}", str(count))
    console = Console()
    console.print(table)
    if hashes is not None:
        for name in sorted(hashes.tables):
            console.print(
                f"content-sha256 {schema}.{name} {hashes.tables[name]}", highlight=False, soft_wrap=True
            )
        console.print(f"content-sha256 {schema} {hashes.combined}", highlight=False, soft_wrap=True)
