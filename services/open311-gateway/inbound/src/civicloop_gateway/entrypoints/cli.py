"""`civicloop-gateway`: apply migrations, serve Open311 (HTTP + consumers), consume only, manage partners, publish
what was left pending. `migrate` and `serve` are the service skeleton's (`civicloop_runtime.cli`)."""

from __future__ import annotations

import asyncio

import typer
from civicloop_runtime.cli import service_cli
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
    from civicloop_runtime.signals import wait_for_stop_signal

    from civicloop_gateway.bootstrap import bootstrap
    from civicloop_gateway.settings import GatewaySettings

    settings = configured(SERVICE, GatewaySettings)

    async def main() -> None:
        gateway = await bootstrap(settings, start_consumers=True)
        try:
            await wait_for_stop_signal()
        finally:
            await gateway.close()

    asyncio.run(main())


@app.command("sweep-pending")
def sweep_pending(
    older_than_s: float = typer.Option(60.0, help="publish rows pending at least this long"),
) -> None:
    """Publish partners' submissions and updates left pending (the service's sweeper does it too, periodically)."""
    from civicloop_gateway.entrypoints.sweep import sweep_once
    from civicloop_gateway.settings import GatewaySettings

    swept = asyncio.run(sweep_once(GatewaySettings(), older_than_s=older_than_s))
    typer.echo(f"published {swept} pending row(s)")


if __name__ == "__main__":
    app()
