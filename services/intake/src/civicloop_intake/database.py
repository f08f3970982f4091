"""Intake's database schemas, in order: the vault's (the resident keys it seals with), then intake's own."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.vault import VAULT_MIGRATIONS

INTAKE_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (("vault", VAULT_MIGRATIONS), ("intake", INTAKE_MIGRATIONS))

migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)  # migrate(sqlalchemy_url)
is_current = partial(migrations.all_current, schemas=SCHEMAS)  # is_current(sqlalchemy_url), for /readyz
