"""The gateway's database schemas, in order: the vault's (resident keys for sealing contacts), then its own."""

from __future__ import annotations

from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.vault import VAULT_MIGRATIONS

from civicloop_gateway.settings import SCHEMA

GATEWAY_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (("vault", VAULT_MIGRATIONS), (SCHEMA, GATEWAY_MIGRATIONS))


def migrate(sqlalchemy_url: str) -> None:
    for schema, script_location in SCHEMAS:
        migrations.upgrade(sqlalchemy_url, script_location, schema)


def is_current(sqlalchemy_url: str) -> bool:
    return all(migrations.is_current(sqlalchemy_url, location, schema) for schema, location in SCHEMAS)
