"""The body of every `migrations/env.py`: online migrations into one schema, version table inside it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine


def run(*, schema: str) -> None:
    config = context.config
    schema = config.attributes.get("schema", schema)
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            version_table_schema=schema,
            include_schemas=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.execute(f'set local search_path to "{schema}", public')
            context.run_migrations()
    engine.dispose()
