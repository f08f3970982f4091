"""`civicloop-intake`: apply the database migrations, serve the HTTP API, publish what was left pending."""

from __future__ import annotations

import typer
from civicloop_runtime.cli import service_cli
from fastapi import FastAPI

from civicloop_intake import database


def _app() -> FastAPI:
    from civicloop_intake.entrypoints.http import app_from_environment

    return app_from_environment()


app = service_cli(
    name="civicloop-intake", help="CivicLoop intake.", schemas=database.SCHEMAS, serve_app=_app, port=8001
)


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
