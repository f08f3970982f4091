"""how much each partner key is used: its requests let in, its requests refused, when it was last used

Revision ID: gateway_0010
Revises: gateway_0009
Create Date: 2026-12-05

Counted where a write is authorised (a key recognised by its digest): no key, no client address, nothing of the
request. Not a table of the view: a rebuild (which replays the log) keeps it, as the log holds no usage.
"""

from alembic import op

revision = "gateway_0010"
down_revision = "gateway_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """create table gateway.partner_key_usage (
             jurisdiction_id text not null,
             client_id text not null,
             key_id text not null,
             requests bigint not null default 0,
             refused bigint not null default 0,
             last_used_at timestamptz not null,
             primary key (jurisdiction_id, client_id, key_id))"""
    )


def downgrade() -> None:
    op.execute("drop table gateway.partner_key_usage")
