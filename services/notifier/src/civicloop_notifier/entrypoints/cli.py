"""`civicloop-notifier`: `migrate` (the vault's migrations, then schema `notifier`), `serve` (the consumer, the
sender loop and the HTTP app), `consume` (the consumer and the sender without HTTP)."""

from __future__ import annotations

from civicloop_runtime.cli import service_cli
from civicloop_runtime.service_commands import add_consume

from civicloop_notifier import database
from civicloop_notifier.bootstrap import SERVICE, bootstrap
from civicloop_notifier.entrypoints.http import app_from_environment
from civicloop_notifier.settings import NotifierSettings

app = service_cli(
    name="civicloop-notifier",
    help="CivicLoop notifier: residents hear back about their requests.",
    schemas=database.SCHEMAS,
    serve_app=app_from_environment,
    port=8006,
)
add_consume(
    app,
    SERVICE,
    NotifierSettings,
    bootstrap,
    help="Fold requests and send messages without HTTP, until SIGINT or SIGTERM.",
)

if __name__ == "__main__":
    app()
