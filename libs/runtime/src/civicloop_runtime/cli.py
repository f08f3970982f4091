"""The command line every service starts from: `migrate` and `serve`, to which a service adds its own commands.

app = service_cli(name="civicloop-geo", help="...", migrate=database.migrate, serve_app=..., port=8004)
app.add_typer(areas_app, name="areas")  # and @app.command() for the service's own

A process without a database passes no `schemas` and gets no `migrate`; one whose `serve` takes options of its own
passes no `serve_app` and adds its own `serve`, which starts the server with `run_server`. A service that keeps
commands in outboxes adds `sweep-pending` with `add_sweep_pending`. A command ends with an error through `fail`, and
reads the database through `command_pool`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import typer
from civicloop_events.applied import close_listener
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from civicloop_runtime.db import open_pool
from civicloop_runtime.migrations import Schemas
from civicloop_runtime.settings import ServiceSettings

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
    phone, a partner's an api_key); the app logs each request itself, path only."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None)


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
