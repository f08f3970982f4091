"""`civicloop-intake`: apply the database migrations, serve the HTTP API, publish what was left pending."""

from __future__ import annotations

from civicloop_runtime.cli import add_sweep_pending, service_cli
from fastapi import FastAPI

from civicloop_intake import database


def _app() -> FastAPI:
    from civicloop_intake.entrypoints.http import app_from_environment

    return app_from_environment()


app = service_cli(
    name="civicloop-intake", help="CivicLoop intake.", schemas=database.SCHEMAS, serve_app=_app, port=8001
)


async def _sweep_once(older_than_s: float) -> int:
    from civicloop_intake.entrypoints.sweep import sweep_once
    from civicloop_intake.settings import IntakeSettings

    return await sweep_once(IntakeSettings(), older_than_s=older_than_s)


# -- staff sign-in: `civicloop-intake staff ...` --
from civicloop_intake.entrypoints.staff_cli import staff_app  # noqa: E402 - after the service's own commands

app.add_typer(staff_app, name="staff")

# -- the jurisdiction's SLA: `civicloop-intake sla ...` --
from civicloop_intake.entrypoints.sla_cli import sla_app  # noqa: E402 - after the service's own commands

app.add_typer(sla_app, name="sla")

# -- posters: `civicloop-intake poster ...` --
from civicloop_intake.entrypoints.poster_cli import poster  # noqa: E402 - after the service's own commands

app.command("poster")(poster)
# -- public-records exports: `civicloop-intake records ...` --
from civicloop_intake.entrypoints.records_cli import records_app  # noqa: E402 - after the service's own commands

app.add_typer(records_app, name="records")

add_sweep_pending(
    app,
    _sweep_once,
    help="Publish submissions, corrections and merges left pending (the service's sweeper does it too, periodically).",
)
