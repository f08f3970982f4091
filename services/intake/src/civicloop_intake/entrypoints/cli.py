"""`civicloop-intake`: apply the database migrations (the vault's, then intake's), serve the HTTP API."""

from __future__ import annotations

from civicloop_runtime.cli import service_cli
from fastapi import FastAPI

from civicloop_intake import database


def _app() -> FastAPI:
    from civicloop_intake.entrypoints.http import app_from_environment

    return app_from_environment()


app = service_cli(
    name="civicloop-intake", help="CivicLoop intake.", schemas=database.SCHEMAS, serve_app=_app, port=8001
)
