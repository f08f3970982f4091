"""the track view keeps the references the bodies' back-ends gave a request

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # [{"body_id": ..., "external_id": ...}] in the order the references were assigned, each pair once.
    op.execute("alter table intake.tracking add column external_references jsonb not null default '[]'")


def downgrade() -> None:
    op.execute("alter table intake.tracking drop column external_references")
