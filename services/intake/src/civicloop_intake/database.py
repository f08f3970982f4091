"""Intake's database schemas, in order: the vault's (the resident keys it seals with), the attempts counted against
tracking numbers (`civicloop_runtime.attempt_limits`), then intake's own."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.attempt_limits import ATTEMPT_MIGRATIONS
from civicloop_runtime.vault import VAULT_MIGRATIONS

INTAKE_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (
    ("vault", VAULT_MIGRATIONS),
    ("attempts", ATTEMPT_MIGRATIONS),
    ("intake", INTAKE_MIGRATIONS),
)

migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)  # migrate(sqlalchemy_url)
is_current = partial(migrations.all_current, schemas=SCHEMAS)  # is_current(sqlalchemy_url), for /readyz
