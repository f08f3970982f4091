"""hearing back: the note a back-end last gave each request, and which seen updates an import stands for

* `external_refs.last_note`: the back-end's last public note on the request (from an import's `status_notes` or an
  applied update), so an update that repeats it is not shown again and one that changes it alone becomes a public
  comment.
* `external_refs.last_heard_at`: when the state the reference remembers was true at the back-end (an imported row's
  `updated_datetime`, an applied update's), so an update heard late but older than it never sets the status back.
* `backend_updates_seen.by_import`: true for the update an import records as already known (the row's current
  state), so `open311 status` counts as "updates applied" only the updates polling applied. Rows written before
  this migration stay false: whether they stood for an import cannot be told afterwards.

Revision ID: outbound_0004
Revises: outbound_0003
Create Date: 2026-12-05
"""

from alembic import op

revision = "outbound_0004"
down_revision = "outbound_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table outbound.external_refs add column if not exists last_note text")
    op.execute("alter table outbound.external_refs add column if not exists last_heard_at timestamptz")
    op.execute(
        "alter table outbound.backend_updates_seen add column if not exists by_import boolean not null default false"
    )


def downgrade() -> None:
    op.execute("alter table outbound.backend_updates_seen drop column if exists by_import")
    op.execute("alter table outbound.external_refs drop column if exists last_heard_at")
    op.execute("alter table outbound.external_refs drop column if exists last_note")
