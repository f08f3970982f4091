"""agents' updates to back-ends: update rows on the queue, what the back-end answered, bodies that take no updates

* `outbound_queue.purpose` gains `update` (an agent's reopening or public comment, or a transfer notice, for a body
  that already has the request); `update_key` (the event an update, or a category change's new delivery, stands
  for; '' for a submission's delivery and copies) joins the once-only key, so each event queues one row per body.
* `outbound_queue.state` gains `undeliverable`: the body cannot take the item (no updates there, or no id of the
  request); recorded, never retried.
* `outbound_queue.answer`: what the back-end answered (an update id, the SMTP server's reply).
* `outbound.body_update_support`: a body whose back-end refused an update (404/405/501), so its later updates are
  not sent; a new definition of the body forgets it (the endpoint may have changed).

Revision ID: outbound_0005
Revises: outbound_0004
Create Date: 2026-12-05
"""

from alembic import op

revision = "outbound_0005"
down_revision = "outbound_0004"
branch_labels = None
depends_on = None


def _checks(purposes: str, states: str) -> None:
    op.execute(
        "alter table outbound.outbound_queue drop constraint outbound_queue_purpose_check,"
        f" add constraint outbound_queue_purpose_check check (purpose in ({purposes})),"
        " drop constraint outbound_queue_state_check,"
        f" add constraint outbound_queue_state_check check (state in ({states}))"
    )


def upgrade() -> None:
    op.execute(
        "alter table outbound.outbound_queue add column if not exists update_key text not null default ''"
    )
    op.execute("alter table outbound.outbound_queue add column if not exists answer text")
    _checks("'deliver', 'priority_copy', 'update'", "'queued', 'sent', 'failed', 'undeliverable'")
    op.execute(
        "alter table outbound.outbound_queue drop constraint outbound_queue_once,"
        " add constraint outbound_queue_once unique (request_id, body_id, purpose, update_key)"
    )
    # The delivery a request's updates follow: its latest `deliver` row.
    op.execute(
        "create index if not exists outbound_queue_deliveries on outbound.outbound_queue (request_id, seq)"
        " where purpose = 'deliver'"
    )
    op.execute(
        """create table if not exists outbound.body_update_support (
             jurisdiction_id text not null,
             body_id text not null,
             refused_status integer not null,
             answer text not null default '',
             learned_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id))"""
    )


def downgrade() -> None:
    op.execute("drop table if exists outbound.body_update_support")
    op.execute("drop index if exists outbound.outbound_queue_deliveries")
    op.execute("delete from outbound.outbound_queue where purpose = 'update'")
    op.execute("update outbound.outbound_queue set state = 'failed' where state = 'undeliverable'")
    op.execute(
        "alter table outbound.outbound_queue drop constraint outbound_queue_once,"
        " add constraint outbound_queue_once unique (request_id, body_id, purpose)"
    )
    _checks("'deliver', 'priority_copy'", "'queued', 'sent', 'failed'")
    op.execute("alter table outbound.outbound_queue drop column if exists answer")
    op.execute("alter table outbound.outbound_queue drop column if exists update_key")
