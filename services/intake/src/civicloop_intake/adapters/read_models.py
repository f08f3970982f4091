"""Which of intake's tables are read models (folded from the log by its consumers, so a rebuild may empty and replay
them) and which are its write side (what intake alone knows: emptying one would lose it), and the whole-table
operations a rebuild needs: reset, row counts, the content hash.

Every table of the schema is named here exactly once (a test checks it against the migrated database), so a new
table is classified when it is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from civicloop_runtime.content_hash import ReadModelHash, read_model_hash

SCHEMA = "intake"

# Folded from the log, nothing else writes them: (table, what it is).
READ_MODELS: tuple[tuple[str, str], ...] = (
    ("services", "the catalogue: the latest ServiceDefined per service (jurisdiction.config)"),
    ("tracking", "the track view residents read: status, public history, sealed contact (requests.events)"),
    ("worked_requests", "the state agents' commands are checked against (requests.events)"),
    ("staff_teams", "teams (jurisdiction.config)"),
    ("staff_accounts", "staff accounts: roles, teams, disabled (jurisdiction.config)"),
    ("sla_definitions", "the SLA definition in force per jurisdiction (jurisdiction.config)"),
)
READ_MODEL_TABLES: tuple[str, ...] = tuple(table for table, _ in READ_MODELS)

# What intake alone writes: never emptied by a rebuild (table, why it is not a read model).
WRITE_SIDE: tuple[tuple[str, str], ...] = (
    ("submissions", "outbox: submissions under their Idempotency-Key, with the event as first published"),
    ("merges", "outbox: merges accepted here, read by later merges before the view has folded them"),
    ("location_corrections", "outbox: location corrections under their Idempotency-Key"),
    ("staff_work", "outbox: agents' commands under their Idempotency-Key"),
    ("staff_changes", "outbox: the staff events intake publishes"),
    ("resident_codes", "residents' one-time codes (never on the log)"),
    ("resident_sessions", "residents' sessions (never on the log)"),
    ("staff_credentials", "password hashes, TOTP secrets, lockouts (never on the log)"),
    ("staff_totp_pending", "TOTP enrolments waiting for their first code"),
    ("staff_reset_tokens", "password reset tickets"),
    ("staff_oidc_pending", "single sign-ons started and not yet returned"),
    ("staff_oidc_links", "which provider's person is which staff member"),
    ("photos", "residents' photos, cleaned, kept with their report (never on the log)"),
    ("console_sessions", "agents' console sessions: their tokens until they expire (never on the log)"),
)
# The consumers' own bookkeeping: a rebuild forgets its consumers' rows, not the tables.
CONSUMER_TABLES = ("inbox", "consumer_positions")

# Left out of the content hash: when the staff fold last wrote the row (`now()`), not what the log says.
WRITE_TIME_COLUMNS: dict[str, tuple[str, ...]] = {"staff_accounts": ("updated_at",)}


async def reset(conn: psycopg.AsyncConnection[Any], consumers: Sequence[str]) -> None:
    """Empty the read models and forget where `consumers` stood, so they replay from offset 0 (one transaction)."""
    async with conn.transaction():
        await conn.execute("truncate " + ", ".join(f"{SCHEMA}.{t}" for t in READ_MODEL_TABLES))
        await conn.execute(f"delete from {SCHEMA}.inbox where consumer = any(%s)", (list(consumers),))
        await conn.execute(
            f"delete from {SCHEMA}.consumer_positions where consumer = any(%s)", (list(consumers),)
        )


async def row_counts(conn: psycopg.AsyncConnection[Any]) -> dict[str, int]:
    counts = {}
    for table in READ_MODEL_TABLES:
        cur = await conn.execute(f"select count(*) from {SCHEMA}.{table}")
        row = await cur.fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


async def content_hash(conn: psycopg.AsyncConnection[Any]) -> ReadModelHash:
    """Intake's read models' content hash (`WRITE_TIME_COLUMNS` left out)."""
    return await read_model_hash(conn, SCHEMA, READ_MODEL_TABLES, ignore=WRITE_TIME_COLUMNS)
