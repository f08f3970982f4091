"""`civicloop-intake`: apply the database migrations, serve the HTTP API, publish what was left pending."""

from __future__ import annotations

import typer
from civicloop_runtime.settings import ServiceSettings

app = typer.Typer(help="CivicLoop intake.", no_args_is_help=True, add_completion=False)


@app.command()
def migrate() -> None:
    """Apply the vault's migrations, then intake's own (idempotent)."""
    from civicloop_runtime.migrations import upgrade

    from civicloop_intake.database import SCHEMAS

    # Only the database is needed here, so migrating never asks for the vault pepper.
    url = ServiceSettings().sqlalchemy_url
    for schema, script_location in SCHEMAS:
        upgrade(url, script_location, schema)
        typer.echo(f"schema {schema}: at head")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8001, help="port to listen on"),
) -> None:
    """Serve the HTTP API (JSON logs on stdout, traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set)."""
    import uvicorn

    from civicloop_intake.entrypoints.http import app_from_environment

    # uvicorn's access log would print query strings, and track's carries a phone: the app logs requests itself.
    uvicorn.run(app_from_environment(), host=host, port=port, access_log=False, log_config=None)


@app.command("sweep-pending")
def sweep_pending(
    older_than_s: float = typer.Option(60.0, help="publish rows pending at least this long"),
) -> None:
    """Publish submissions, corrections and merges left pending (the service's sweeper does it too, periodically)."""
    import asyncio

    from civicloop_intake.entrypoints.sweep import sweep_once
    from civicloop_intake.settings import IntakeSettings

    swept = asyncio.run(sweep_once(IntakeSettings(), older_than_s=older_than_s))
    typer.echo(f"published {swept} pending row(s)")
