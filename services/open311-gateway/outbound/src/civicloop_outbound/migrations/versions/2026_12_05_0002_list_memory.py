"""what the Open311 client learnt about each back-end list: whether it honours page/page_size, its longest answer

Revision ID: outbound_0002
Revises: outbound_0001
Create Date: 2026-12-05
"""

from alembic import op

revision = "outbound_0002"
down_revision = "outbound_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per body and list (requests by creation date, requests by update date, servicerequestupdates):
    # `paging` is null until learnt; `longest_answer` makes an answer that long suspect of being cut short.
    op.execute(
        """create table outbound.backend_list_memory (
             jurisdiction_id text not null,
             body_id text not null,
             list text not null check (list in ('requests', 'requests_updated', 'updates')),
             paging boolean,
             longest_answer integer not null default 0 check (longest_answer >= 0),
             learnt_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, list))"""
    )


def downgrade() -> None:
    op.execute("drop table if exists outbound.backend_list_memory")
