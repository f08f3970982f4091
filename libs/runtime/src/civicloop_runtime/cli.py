"""The command line every service starts from: `migrate` and `serve`, to which a service adds its own commands.

app = service_cli(name="civicloop-geo", help="...", migrate=database.migrate, serve_app=..., port=8004)
app.add_typer(areas_app, name="areas")  # and @app.command() for the service's own
"""

from __future__ import annotations

from collections.abc import Callable

import typer
from fastapi import FastAPI

from civicloop_runtime.migrations import Schemas
from civicloop_runtime.settings import ServiceSettings

HOST = typer.Option("127.0.0.1", help="interface to listen on")


def service_cli(
    *,
    name: str,
    help: str,
    schemas: Schemas,
    serve_app: Callable[[], FastAPI],
    port: int,
    serve_help: str = "Serve the HTTP API (JSON logs on stdout, traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set).",
) -> typer.Typer:
    """`schemas` are the service's (schema, Alembic script location) pairs, migrated in order; `serve_app` is the
    service's `app_from_environment` (the process's logs and tracing set up, then the app built)."""
    app = typer.Typer(name=name, help=help, no_args_is_help=True, add_completion=False)

    @app.command("migrate")
    def migrate_cmd() -> None:
        """Apply this service's database migrations, schema by schema (idempotent)."""
        from civicloop_runtime.migrations import upgrade

        # Only the database is needed, so migrating never asks for the service's secrets.
        url = ServiceSettings().sqlalchemy_url
        for schema, script_location in schemas:
            upgrade(url, script_location, schema)
            typer.echo(f"schema {schema}: at head")

    @app.command("serve", help=serve_help)
    def serve_cmd(host: str = HOST, port: int = typer.Option(port, help="TCP port")) -> None:
        import uvicorn

        # uvicorn's access log would print query strings (track's carries a phone): the app logs requests itself.
        uvicorn.run(serve_app(), host=host, port=port, access_log=False, log_config=None)

    return app
