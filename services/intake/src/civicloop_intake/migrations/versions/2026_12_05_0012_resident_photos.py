"""residents' photos: the copy intake keeps of a report's photo (resized, EXIF and GPS stripped), served at
`/media/<photo_id>.jpg`, one per submission's Idempotency-Key so a retried report stores no second copy

Revision ID: intake_0012
Revises: intake_0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0012"
down_revision = "intake_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "create table intake.photos ("
        " photo_id uuid primary key,"
        " idempotency_key text not null unique,"
        " content bytea not null,"
        " width int not null,"
        " height int not null,"
        " stored_at timestamptz not null default now())"
    )


def downgrade() -> None:
    op.execute("drop table intake.photos")
