"""outbound Open311 client: references, polling state, imports

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-11-23
"""
from alembic import op  # noqa: F401

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
