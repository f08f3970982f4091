"""The gateway's database schemas, in order: the vault's (resident keys for sealing contacts), then its own."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.vault import VAULT_MIGRATIONS

from civicloop_gateway.settings import SCHEMA

GATEWAY_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (("vault", VAULT_MIGRATIONS), (SCHEMA, GATEWAY_MIGRATIONS))


migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)  # migrate(sqlalchemy_url)
is_current = partial(migrations.all_current, schemas=SCHEMAS)  # is_current(sqlalchemy_url), for /readyz
