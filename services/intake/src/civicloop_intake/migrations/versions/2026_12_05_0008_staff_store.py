"""the staff store: accounts and teams folded from the staff events, the credentials that never go on the log, and
the outbox of the staff events intake publishes

Revision ID: intake_0008
Revises: intake_0007
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0008"
down_revision = "intake_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Folded from `jurisdiction.config` (the staff consumer): what the log says of each account and team.
    op.execute(
        """create table intake.staff_teams (
             jurisdiction_id text not null,
             team_id text not null,
             name text not null,
             active boolean not null,
             primary key (jurisdiction_id, team_id))"""
    )
    op.execute(
        """create table intake.staff_accounts (
             staff_id uuid primary key,
             jurisdiction_id text not null,
             roles text[] not null,
             teams text[] not null default '{}',
             disabled text,
             contact json not null,
             updated_at timestamptz not null default now())"""
    )
    # Written by intake alone, never published. The email is kept as a keyed digest (HMAC with the pepper): found
    # by what is typed at sign-in, unreadable in a stolen dump. The hash is argon2id; the TOTP secret is the one
    # credential kept as it is (a TOTP check needs it); recovery codes are SHA-256 digests.
    op.execute(
        """create table intake.staff_credentials (
             staff_id uuid primary key,
             jurisdiction_id text not null,
             email_digest bytea unique, -- none for an account made by a single sign-on (it has no password)
             password_hash text,
             password_set_at timestamptz,
             totp_secret text,
             totp_last_step bigint,
             recovery_digests text[] not null default '{}',
             failures integer not null default 0,
             window_started_at timestamptz,
             locked_until timestamptz,
             lockouts integer not null default 0,
             created_at timestamptz not null default now())"""
    )
    # A TOTP secret shown at enrolment, waiting for its first code; found by the digest of the one-time ticket.
    op.execute(
        """create table intake.staff_totp_pending (
             ticket_digest text primary key,
             staff_id uuid not null references intake.staff_credentials on delete cascade,
             secret text not null,
             recovery_digests text[] not null,
             expires_at timestamptz not null)"""
    )
    op.execute("create index staff_totp_pending_staff on intake.staff_totp_pending (staff_id)")
    op.execute(
        """create table intake.staff_reset_tokens (
             token_digest text primary key,
             staff_id uuid not null references intake.staff_credentials on delete cascade,
             issued_at timestamptz not null,
             expires_at timestamptz not null,
             used_at timestamptz)"""
    )
    op.execute("create index staff_reset_tokens_staff on intake.staff_reset_tokens (staff_id)")
    # OpenID Connect: sign-ins started and not yet returned (taken once, by state), and who a provider's person is.
    op.execute(
        """create table intake.staff_oidc_pending (
             state text primary key,
             jurisdiction_id text not null,
             nonce text not null,
             code_verifier text not null,
             started_at timestamptz not null,
             expires_at timestamptz not null)"""
    )
    op.execute(
        """create table intake.staff_oidc_links (
             issuer text not null,
             subject text not null,
             staff_id uuid not null unique,
             linked_at timestamptz not null default now(),
             primary key (issuer, subject))"""
    )
    # The outbox of the staff events (on `jurisdiction.config`): one row per change, written in the same transaction
    # as whatever the change does to the credentials, published before the caller hears "yes".
    op.execute(
        """create table intake.staff_changes (
             change_id uuid primary key,
             staff_id uuid,
             event json not null,
             state text not null default 'pending' check (state in ('pending', 'published')),
             partition integer,
             kafka_offset bigint,
             created_at timestamptz not null default now(),
             published_at timestamptz,
             constraint published_has_position
               check ((state = 'published') = (kafka_offset is not null and published_at is not null)))"""
    )
    op.execute(
        "create index staff_changes_pending on intake.staff_changes (created_at) where state = 'pending'"
    )


def downgrade() -> None:
    for table in (
        "staff_changes",
        "staff_oidc_links",
        "staff_oidc_pending",
        "staff_reset_tokens",
        "staff_totp_pending",
        "staff_credentials",
        "staff_accounts",
        "staff_teams",
    ):
        op.execute(f"drop table intake.{table}")
