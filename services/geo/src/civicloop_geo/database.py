"""Where geo's Alembic migrations live, and how to apply them (schema `geo`)."""

from __future__ import annotations

from pathlib import Path

from civicloop_runtime import migrations

from civicloop_geo.settings import SCHEMA

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMAS: tuple[tuple[str, Path], ...] = ((SCHEMA, MIGRATIONS),)


def migrate(sqlalchemy_url: str) -> None:
    migrations.upgrade_all(sqlalchemy_url, SCHEMAS)


def is_current(sqlalchemy_url: str) -> bool:
    return migrations.all_current(sqlalchemy_url, SCHEMAS)
