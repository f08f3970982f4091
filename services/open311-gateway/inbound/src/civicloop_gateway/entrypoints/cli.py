"""`civicloop-gateway`: apply migrations, serve Open311 (HTTP + consumers), consume only, manage partners, publish
what was left pending. `migrate` and `serve` are the service skeleton's (`civicloop_runtime.cli`)."""

from __future__ import annotations

from functools import partial

from civicloop_runtime.cli import add_sweep_pending, service_cli
from fastapi import FastAPI

from civicloop_gateway import database
from civicloop_gateway.entrypoints import partners_cli

SERVICE = "civicloop-gateway"


def _app() -> FastAPI:
    from civicloop_gateway.entrypoints.http import app_from_environment

    return app_from_environment()


app = service_cli(
    name=SERVICE,
    help="CivicLoop's Open311 GeoReport v2 gateway.",
    schemas=database.SCHEMAS,
    serve_app=_app,
    port=8003,
    serve_help="Serve Open311 with both consumers of the view running (JSON logs; traces over OTLP when configured).",
)
app.add_typer(partners_cli.app, name="partners")


@app.command()
def consume() -> None:
    """The consumers of the Open311 view only, no HTTP; stops cleanly on SIGINT/SIGTERM."""
    from civicloop_runtime.process import configured
    from civicloop_runtime.signals import run_until_stopped

    from civicloop_gateway.bootstrap import bootstrap
    from civicloop_gateway.settings import GatewaySettings

    settings = configured(SERVICE, GatewaySettings)
    run_until_stopped(partial(bootstrap, settings, start_consumers=True))


@app.command()
def rebuild() -> None:
    """Empty the Open311 view and its positions, replay the log from offset 0 (consumers stopped), then report the
    row counts and the replay's rate."""
    import asyncio

    from civicloop_runtime.cli import print_row_counts, run_rebuild
    from civicloop_runtime.content_hash import read_model_hash_at
    from civicloop_runtime.process import configured
    from rich.console import Console

    from civicloop_gateway.adapters.view_tables import VIEW_TABLES
    from civicloop_gateway.entrypoints.rebuild import rebuild as rebuild_view
    from civicloop_gateway.settings import SCHEMA, GatewaySettings, sealing_nothing

    with sealing_nothing():  # the view holds no personal data: folding it digests and seals nothing
        settings = configured(SERVICE, GatewaySettings)
    rebuilt = run_rebuild(lambda on_progress: rebuild_view(settings, on_progress=on_progress))
    hashes = asyncio.run(read_model_hash_at(settings.pg_dsn, SCHEMA, VIEW_TABLES))
    print_row_counts(rebuilt.row_counts, schema=SCHEMA, title="Open311 view rebuilt", hashes=hashes)
    Console().print(
        f"{rebuilt.records} records replayed in {rebuilt.seconds:.1f} s: {rebuilt.records_per_s:,.0f} records/s"
    )


@app.command("render-view")
def render_view() -> None:
    """Render the Open311 object of every request whose stored rendering is missing or of an older version (rows
    bulk-loaded, or after a change of the rendering); reads serve such rows from their columns meanwhile."""
    import psycopg
    from civicloop_runtime.process import configured

    from civicloop_gateway.adapters.postgres_view import render_stale
    from civicloop_gateway.settings import GatewaySettings

    settings = configured(SERVICE, GatewaySettings)
    with psycopg.connect(settings.pg_dsn) as conn:
        render_stale(conn)


async def _sweep_once(older_than_s: float) -> int:
    from civicloop_gateway.entrypoints.sweep import sweep_once
    from civicloop_gateway.settings import GatewaySettings

    return await sweep_once(GatewaySettings(), older_than_s=older_than_s)


add_sweep_pending(
    app,
    _sweep_once,
    help="Publish partners' submissions and updates left pending (the service's sweeper does it too, periodically).",
)


if __name__ == "__main__":
    app()
