"""`civicloop-notifier`: `migrate` (the vault's migrations, then schema `notifier`), `serve` (the consumer, the
sender loop and the HTTP app), `consume` (the consumer and the sender without HTTP), `hashes` (the content hash of
its dispatch state, which is not rebuilt from the log: docs/operations.md, "Rebuilding read models")."""

from __future__ import annotations

from civicloop_runtime.cli import service_cli
from civicloop_runtime.service_commands import add_consume
from civicloop_runtime.state_hashes import add_hashes

from civicloop_notifier import database
from civicloop_notifier.bootstrap import SERVICE, bootstrap
from civicloop_notifier.entrypoints.http import app_from_environment
from civicloop_notifier.settings import SCHEMA, NotifierSettings

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
add_hashes(
    app,
    schema=SCHEMA,
    help="Print the content hash of every table of the notifier's state (messages, attempts, opt-outs, ...) and of"
    " the whole: it is dispatch state, never rebuilt from the log (a rebuild would send again).",
)

if __name__ == "__main__":
    app()
