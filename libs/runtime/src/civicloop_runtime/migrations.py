"""Alembic, run programmatically: every service's schema lives in its own PostgreSQL schema with its own history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text


def _config(url: str, script_location: str | Path, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(url: str, script_location: str | Path, schema: str, *, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (a migration's own test stops before it, writes rows, then goes on)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'create schema if not exists "{schema}"'))
        conn.execute(text("create extension if not exists postgis"))
    engine.dispose()
    command.upgrade(_config(url, script_location, schema), revision)


def is_current(url: str, script_location: str | Path, schema: str) -> bool:
    """True when the database is at the head of this script directory (for /readyz)."""
    script = ScriptDirectory.from_config(_config(url, script_location, schema))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table_schema": schema})
            return set(ctx.get_current_heads()) == set(script.get_heads())
    finally:
        engine.dispose()


# A service's schemas, in the order they are migrated: (schema, Alembic script location).
Schemas = Sequence[tuple[str, str | Path]]


def upgrade_all(url: str, schemas: Schemas) -> None:
    for schema, script_location in schemas:
        upgrade(url, script_location, schema)


def all_current(url: str, schemas: Schemas) -> bool:
    return all(is_current(url, script_location, schema) for schema, script_location in schemas)
