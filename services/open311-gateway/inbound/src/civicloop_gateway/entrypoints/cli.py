"""`civicloop-gateway`: apply migrations, serve Open311 (HTTP + consumers), consume only, manage partners, publish
what was left pending."""

from __future__ import annotations

import asyncio

import typer
from civicloop_runtime.logs import configure_logging
from civicloop_runtime.settings import ServiceSettings
from civicloop_runtime.signals import wait_for_stop_signal
from civicloop_runtime.telemetry import configure_tracing

from civicloop_gateway.entrypoints import partners_cli

SERVICE = "civicloop-gateway"
app = typer.Typer(
    help="CivicLoop's Open311 GeoReport v2 gateway.", no_args_is_help=True, add_completion=False
)
app.add_typer(partners_cli.app, name="partners")


@app.command()
def migrate() -> None:
    """Apply the vault's migrations, then the gateway's own (idempotent)."""
    from civicloop_runtime.migrations import upgrade

    from civicloop_gateway.database import SCHEMAS

    # Only the database is needed here, so migrating never asks for the vault pepper.
    url = ServiceSettings().sqlalchemy_url
    for schema, script_location in SCHEMAS:
        upgrade(url, script_location, schema)
        typer.echo(f"schema {schema}: at head")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8003, help="port to listen on"),
) -> None:
    """Serve Open311 with both consumers of the view running (JSON logs; traces over OTLP when configured)."""
    import uvicorn

    from civicloop_gateway.entrypoints.http import app_from_environment

    # The app logs each request itself (path only); uvicorn's access log would print query strings.
    uvicorn.run(app_from_environment(), host=host, port=port, access_log=False, log_config=None)


@app.command()
def consume() -> None:
    """The consumers of the Open311 view only, no HTTP; stops cleanly on SIGINT/SIGTERM."""
    from civicloop_gateway.bootstrap import bootstrap
    from civicloop_gateway.settings import GatewaySettings

    settings = GatewaySettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)

    async def main() -> None:
        gateway = await bootstrap(settings, run_consumers=True)
        try:
            await wait_for_stop_signal()
        finally:
            await gateway.close()

    asyncio.run(main())


if __name__ == "__main__":
    app()


@app.command("sweep-pending")
def sweep_pending(
    older_than_s: float = typer.Option(60.0, help="publish rows pending at least this long"),
) -> None:
    """Publish partners' submissions and updates left pending (the service's sweeper does it too, periodically)."""
    from civicloop_gateway.entrypoints.sweep import sweep_once
    from civicloop_gateway.settings import GatewaySettings

    swept = asyncio.run(sweep_once(GatewaySettings(), older_than_s=older_than_s))
    typer.echo(f"published {swept} pending row(s)")
