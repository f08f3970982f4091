"""worked requests remember whether staff set the priority, so a later routing's proposal does not replace it

Revision ID: intake_0010
Revises: intake_0009
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0010"
down_revision = "intake_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "alter table intake.worked_requests add column priority_by_staff boolean not null default false"
    )


def downgrade() -> None:
    op.execute("alter table intake.worked_requests drop column priority_by_staff")
