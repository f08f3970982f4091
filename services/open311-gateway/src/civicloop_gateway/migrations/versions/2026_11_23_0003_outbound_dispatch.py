"""outbound dispatch: bodies, routing, the send queue

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2026-11-23
"""
from alembic import op  # noqa: F401

revision = "gateway_0003"
down_revision = "gateway_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
