"""requeued deliveries and the streaks of a back-end's failing polls

* `outbound_queue.requeues`: how many times the item was put back on its body's queue (`request.delivery.requeued`),
  each time with its attempts reset. The CLI's requeue event derives its id from (row, requeues), so the same
  requeue asked twice before it is applied is one event, and the next one after it a new event.
* `outbound.body_poll_streaks`: per body, the failed polls in a row (`failures`, since `failing_since`), whether the
  streak was announced (`jurisdiction.body.poll_failing`, once per streak; `poll_recovered` on the first success
  after), the last error's kind (never a URL or a secret), and `nudged_at`: a nudge (`jurisdiction.body.poll_nudged`)
  not yet acted on, which makes the body's next poll due at once.

Revision ID: outbound_0006
Revises: outbound_0005
Create Date: 2026-12-05
"""

from alembic import op

revision = "outbound_0006"
down_revision = "outbound_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "alter table outbound.outbound_queue add column if not exists requeues integer not null default 0"
        " check (requeues >= 0)"
    )
    op.execute(
        """create table if not exists outbound.body_poll_streaks (
             jurisdiction_id text not null,
             body_id text not null,
             failures integer not null default 0 check (failures >= 0),
             failing_since timestamptz,
             announced boolean not null default false,
             last_error text not null default '',
             nudged_at timestamptz,
             primary key (jurisdiction_id, body_id),
             constraint streak_has_start check ((failures = 0) = (failing_since is null)))"""
    )


def downgrade() -> None:
    op.execute("drop table if exists outbound.body_poll_streaks")
    op.execute("alter table outbound.outbound_queue drop column if exists requeues")
