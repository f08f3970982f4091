"""`civicloop-backend-adapters serve --config adapters.yaml --port 8010`: the adapter app alone, no database.

Built on the service skeleton's command line (`civicloop_runtime.cli.service_cli`) without `migrate` (no database);
`serve` is the app's own, because it takes `--config`, and starts the server as every service does (`run_server`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from civicloop_runtime.cli import HOST, run_server, service_cli

from civicloop_backend_adapters.settings import BackendAdapterSettings

SERVICE = "civicloop-backend-adapters"
CONFIG = typer.Option(
    None,
    "--config",
    exists=True,
    dir_okay=False,
    help="the adapters' JSON or YAML file (else CIVICLOOP_ADAPTERS_CONFIG)",
)
PORT = typer.Option(8010, help="port to listen on")
app = service_cli(name=SERVICE, help="Open311 adapters in front of back-ends that are not Open311.")


def _settings(config: Path | None) -> BackendAdapterSettings:
    settings = BackendAdapterSettings()
    return settings.model_copy(update={"adapters_config": config}) if config is not None else settings


@app.command()
def check(config: Path | None = CONFIG) -> None:
    """Validate a configuration file and list its jurisdictions."""
    from civicloop_backend_adapters.config import load_config

    path = _settings(config).adapters_config
    if path is None:
        raise typer.BadParameter("no configuration: pass --config or set CIVICLOOP_ADAPTERS_CONFIG")
    loaded = load_config(path)
    for jid, settings in loaded.jurisdictions.items():
        typer.echo(f"{jid}: {settings.type} ({len(settings.services)} service(s))")


@app.command()
def serve(config: Path | None = CONFIG, host: str = HOST, port: int = PORT) -> None:
    """Serve the adapters' Open311 endpoints (JSON logs; traces over OTLP when configured)."""
    from civicloop_runtime.process import configured

    from civicloop_backend_adapters.entrypoints.http import create_app

    settings = configured(SERVICE, BackendAdapterSettings)
    if config is not None:
        settings = settings.model_copy(update={"adapters_config": config})
    run_server(create_app(settings), host=host, port=port)


if __name__ == "__main__":
    app()
