"""`civicloop-gateway adapters serve --config adapters.json --port 8010`: the adapter app alone, no database."""

from __future__ import annotations

from pathlib import Path

import typer

CONFIG = typer.Option(..., "--config", exists=True, dir_okay=False, help="the adapters' JSON or YAML file")
HOST = typer.Option("127.0.0.1", help="interface to listen on")
PORT = typer.Option(8010, help="port to listen on")
app = typer.Typer(
    help="Open311 adapters in front of back-ends that are not Open311.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def check(config: Path = CONFIG) -> None:
    """Validate a configuration file and list its jurisdictions."""
    from civicloop_gateway.backend_adapters.config import load_config

    loaded = load_config(config)
    for jid, settings in loaded.jurisdictions.items():
        typer.echo(f"{jid}: {settings.type} ({len(settings.services)} service(s))")


@app.command()
def serve(config: Path = CONFIG, host: str = HOST, port: int = PORT) -> None:
    """Serve the adapters' Open311 endpoints."""
    import uvicorn

    from civicloop_gateway.backend_adapters.app import create_adapter_app
    from civicloop_gateway.backend_adapters.config import load_config

    uvicorn.run(create_adapter_app(load_config(config)), host=host, port=port, access_log=False)
