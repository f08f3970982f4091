"""resident keys and the keyed-digest index

Revision ID: vault_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "vault_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """create table vault.resident_keys (
             resident_id uuid primary key,
             key bytea,
             created_at timestamptz not null default now(),
             erased_at timestamptz)"""
    )
    op.execute(
        """create table vault.resident_index (
             digest bytea primary key,
             resident_id uuid not null references vault.resident_keys (resident_id))"""
    )
    op.execute("create index resident_index_resident on vault.resident_index (resident_id)")


def downgrade() -> None:
    op.execute("drop table vault.resident_index")
    op.execute("drop table vault.resident_keys")
