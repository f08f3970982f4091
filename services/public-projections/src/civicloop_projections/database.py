"""Where the projections' Alembic migrations live, and how to apply them (schema `projections`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations

from civicloop_projections.settings import SCHEMA

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMAS: tuple[tuple[str, Path], ...] = ((SCHEMA, MIGRATIONS),)

migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)  # migrate(sqlalchemy_url)
is_current = partial(migrations.all_current, schemas=SCHEMAS)  # is_current(sqlalchemy_url), for /readyz
