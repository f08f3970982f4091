"""resident access: one pending code per contact and residents' sessions (digests only), and the track view indexed
by the resident its sealed contact names

Revision ID: intake_0007
Revises: intake_0006
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0007"
down_revision = "intake_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keyed digests of the contact and of the code: neither the contact nor the code is stored.
    op.execute(
        """
        create table intake.resident_codes (
            contact_digest bytea primary key,
            resident_id uuid not null,
            code_digest bytea not null,
            expires_at timestamptz not null,
            wrong_tries integer not null default 0
        )
        """
    )
    op.execute(
        """
        create table intake.resident_sessions (
            token_digest bytea primary key,
            resident_id uuid not null,
            expires_at timestamptz not null
        )
        """
    )
    op.execute("create index resident_sessions_expiry on intake.resident_sessions (expires_at)")
    op.execute("create index resident_codes_expiry on intake.resident_codes (expires_at)")
    op.execute(
        "create index tracking_by_resident on intake.tracking ((contact->>'resident_id'), submitted_at desc)"
        " where contact is not null"
    )


def downgrade() -> None:
    op.execute("drop index intake.tracking_by_resident")
    op.execute("drop table intake.resident_sessions")
    op.execute("drop table intake.resident_codes")
