"""The columns every table of commands kept with their event shares (intake's outbox tables), for the migrations.

A command is kept under its Idempotency-Key with the event it publishes, `pending` until the broker acknowledged
it; `published_has_position` ties the published state to the position the broker gave.
"""

KEPT_COMMAND_KEY = """idempotency_key text primary key check (length(idempotency_key) between 1 and 255),
             request_number text not null,
             event_id uuid not null unique,
             body_hash text not null"""

PUBLISHING = """event json not null,
             state text not null default 'pending' check (state in ('pending', 'published')),
             partition integer,
             kafka_offset bigint,
             created_at timestamptz not null default now(),
             published_at timestamptz"""

PUBLISHED_HAS_POSITION = """constraint published_has_position
               check ((state = 'published') = (kafka_offset is not null and published_at is not null))"""


def kept_commands_table(table: str, *constraints: str) -> str:
    """`create table intake.<table>` of commands kept under their Idempotency-Key, with the table's own
    `constraints` (named, as a `constraint ...` clause) before the published-has-position check."""
    clauses = ",\n             ".join((KEPT_COMMAND_KEY, PUBLISHING, *constraints, PUBLISHED_HAS_POSITION))
    return f"""create table intake.{table} (
             {clauses})"""
