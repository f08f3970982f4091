"""Updates about requests not known yet, kept until the request is known, imported, or given up; a poll kind for the
import's look-back.

An update the poller reads for a back-end request CivicLoop has no reference for (created in the back-end and not
imported yet, or sent by CivicLoop while its batch token is still unresolved) used to be counted and dropped. It is
kept here, whole, so that the import fetches that request by id and the update is then applied (or found to be in
the import already), once.

`backend_poll_state` gains the kind `lookback`: when the import last re-read a body's `import_lookback_h` of creation
dates (hourly, not every poll: it re-reads days of requests already decided).

Revision ID: outbound_0003
Revises: outbound_0002
Create Date: 2026-12-05
"""

from alembic import op

revision = "outbound_0003"
down_revision = "outbound_0002"
branch_labels = None
depends_on = None


POLL_KINDS = ("updates", "mopup", "import")


def _poll_kinds(kinds: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{k}'" for k in kinds)
    op.execute(
        "alter table outbound.backend_poll_state drop constraint backend_poll_state_kind_check,"
        f" add constraint backend_poll_state_kind_check check (kind in ({listed}))"
    )


def upgrade() -> None:
    _poll_kinds((*POLL_KINDS, "lookback"))
    # `state`: pending (to fetch by id when the body imports), ours (sent by CivicLoop: waits for the reference),
    # then applied, covered (the import already stood for it), skipped (the request is not imported) or given_up.
    # `remembered_at` and `backend_imports.decided_at` are both the database's clock: an update remembered before
    # its request was read for the import is in that import.
    op.execute(
        """create table outbound.backend_unknown_updates (
             jurisdiction_id text not null,
             body_id text not null,
             update_id text not null,
             external_id text not null,
             update jsonb not null,
             updated_at timestamptz not null,
             remembered_at timestamptz not null default now(),
             state text not null default 'pending'
               check (state in ('pending', 'ours', 'applied', 'covered', 'skipped', 'given_up')),
             attempts integer not null default 0,
             reason text not null default '',
             settled_at timestamptz,
             primary key (jurisdiction_id, body_id, update_id),
             constraint settled_has_time check ((state in ('pending', 'ours')) = (settled_at is null)))"""
    )
    op.execute(
        "create index backend_unknown_updates_open on outbound.backend_unknown_updates"
        " (jurisdiction_id, body_id, external_id) where state in ('pending', 'ours')"
    )


def downgrade() -> None:
    op.execute("drop table if exists outbound.backend_unknown_updates")
    op.execute("delete from outbound.backend_poll_state where kind = 'lookback'")
    _poll_kinds(POLL_KINDS)
