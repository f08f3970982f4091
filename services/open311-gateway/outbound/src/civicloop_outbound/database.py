"""The outbound service's database schemas, in order: the vault's (resident keys, read when contact details are
sent), then its own, `outbound`.

On a database where the gateway's migrations (gateway_0003, gateway_0004) created the outbound tables in schema
`gateway`, the first outbound migration moves them, with the outbound consumers' inbox rows and stored positions:
run the gateway's migrations first (`make migrate` does).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.vault import VAULT_MIGRATIONS

from civicloop_outbound.settings import SCHEMA

OUTBOUND_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (("vault", VAULT_MIGRATIONS), (SCHEMA, OUTBOUND_MIGRATIONS))


migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)  # migrate(sqlalchemy_url)
is_current = partial(migrations.all_current, schemas=SCHEMAS)  # is_current(sqlalchemy_url), for /readyz
