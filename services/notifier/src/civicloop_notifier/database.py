"""The notifier's database schemas, in order: the vault's (resident keys, read to unseal contacts), then its own."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.vault import VAULT_MIGRATIONS

from civicloop_notifier.settings import SCHEMA

NOTIFIER_MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
SCHEMAS: tuple[tuple[str, str], ...] = (("vault", VAULT_MIGRATIONS), (SCHEMA, NOTIFIER_MIGRATIONS))

migrate = partial(migrations.upgrade_all, schemas=SCHEMAS)
is_current = partial(migrations.all_current, schemas=SCHEMAS)
