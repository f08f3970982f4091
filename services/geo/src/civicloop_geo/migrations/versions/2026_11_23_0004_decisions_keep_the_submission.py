"""decisions keep the category and submission time, so an agent's correction can place a request geo could not

Revision ID: geo_0004
Revises: geo_0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "geo_0004"
down_revision = "geo_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table geo.decisions add column service_code text, add column submitted_at timestamptz")


def downgrade() -> None:
    op.execute("alter table geo.decisions drop column service_code, drop column submitted_at")
