"""What gateway_0003 and gateway_0004 share: the tables they created in schema `gateway` now belong to the outbound
service (schema `outbound`, migration outbound_0001, which moves them out of `gateway` where these created them)."""

from alembic import op
from sqlalchemy import text


def outbound_has_them() -> bool:
    """A database the outbound service migrated first has the tables already: these migrations then leave them."""
    return op.get_bind().execute(text("select to_regclass('outbound.bodies')")).scalar() is not None


def drop_tables(*tables: str) -> None:
    for table in tables:
        op.execute(f"drop table if exists gateway.{table}")
