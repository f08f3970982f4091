"""The body of every `migrations/env.py`: online migrations into one schema, version table inside it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine


def run(*, schema: str) -> None:
    config = context.config
    schema = config.attributes.get("schema", schema)
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic was given no sqlalchemy.url")
    engine = create_engine(url)
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
