"""selfheal's database schema: its view, the action ledger and the runs."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations

from civicloop_selfheal.settings import SCHEMA

SELFHEAL_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = ((SCHEMA, SELFHEAL_MIGRATIONS),)

migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)
is_current = partial(migrations.all_current, schemas=SCHEMAS)
