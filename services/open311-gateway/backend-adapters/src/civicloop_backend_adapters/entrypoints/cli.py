"""`civicloop-backend-adapters serve --config adapters.yaml --port 8010`: the adapter app alone, no database."""

from __future__ import annotations

from pathlib import Path

import typer

from civicloop_backend_adapters.settings import BackendAdapterSettings

SERVICE = "civicloop-backend-adapters"
CONFIG = typer.Option(
    None,
    "--config",
    exists=True,
    dir_okay=False,
    help="the adapters' JSON or YAML file (else CIVICLOOP_ADAPTERS_CONFIG)",
)
HOST = typer.Option("127.0.0.1", help="interface to listen on")
PORT = typer.Option(8010, help="port to listen on")
app = typer.Typer(
    help="Open311 adapters in front of back-ends that are not Open311.",
    no_args_is_help=True,
    add_completion=False,
)


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
    import uvicorn
    from civicloop_runtime.logs import configure_logging
    from civicloop_runtime.telemetry import configure_tracing

    from civicloop_backend_adapters.entrypoints.http import create_app

    settings = _settings(config)
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    # The adapters log what they do themselves; uvicorn's access log would print query strings.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)


if __name__ == "__main__":
    app()
