"""Intake's database schemas, in order: the vault's (the resident keys it seals with), then intake's own."""

from __future__ import annotations

from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.vault import VAULT_MIGRATIONS

INTAKE_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (("vault", VAULT_MIGRATIONS), ("intake", INTAKE_MIGRATIONS))


def migrate(sqlalchemy_url: str) -> None:
    migrations.upgrade_all(sqlalchemy_url, SCHEMAS)


def is_current(sqlalchemy_url: str) -> bool:
    return migrations.all_current(sqlalchemy_url, SCHEMAS)
