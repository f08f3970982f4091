"""partner writes: submissions (retry dedup, pending -> published), batch tokens, posted updates

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A POST Service Request as first accepted. `digest` is an HMAC (keyed with the deployment's pepper) of the
    # partner, the jurisdiction and the normalised body: a retry within the dedup window finds it (PR-11); bodies
    # carry contact details, so no plain hash of them is kept. `event` is the envelope exactly as first built
    # (contact sealed), so a retry publishes the same event with the same id and number.
    op.execute(
        """create table gateway.submissions (
             event_id uuid primary key,
             digest text not null check (digest ~ '^[0-9a-f]{64}$'),
             jurisdiction_id text not null,
             client_id text not null,
             request_number text not null,
             service_type text not null check (service_type in ('realtime', 'batch', 'blackbox')),
             token text,
             service_notice text,
             event json not null,
             state text not null default 'pending' check (state in ('pending', 'published')),
             partition integer,
             kafka_offset bigint,
             created_at timestamptz not null default now(),
             published_at timestamptz,
             constraint submissions_request_number_key unique (request_number),
             constraint submissions_token_key unique (token),
             constraint batch_has_token check ((service_type = 'batch') = (token is not null)),
             constraint published_has_position
               check ((state = 'published') = (kafka_offset is not null and published_at is not null)))"""
    )
    op.execute("create index submissions_by_digest on gateway.submissions (digest, created_at desc)")
    op.execute("create index submissions_pending on gateway.submissions (created_at) where state = 'pending'")

    # TK-01..TK-03: a batch service's token; `service_request_id` is filled once the request's event is on the log.
    op.execute(
        """create table gateway.tokens (
             token text primary key,
             jurisdiction_id text not null,
             service_request_id text,
             created_at timestamptz not null default now())"""
    )

    # POST servicerequestupdates (FX-10): `update_id` is ours (the id of the update's first event); the partner's own
    # update_id, when given, is unique per partner and makes its retries safe. `events` are the envelopes as built.
    op.execute(
        """create table gateway.posted_updates (
             update_id text primary key,
             jurisdiction_id text not null,
             client_id text not null,
             partner_update_id text,
             service_request_id text not null,
             digest text not null check (digest ~ '^[0-9a-f]{64}$'),
             events text[] not null,
             state text not null default 'pending' check (state in ('pending', 'published')),
             created_at timestamptz not null default now(),
             published_at timestamptz,
             constraint posted_updates_partner_key unique (jurisdiction_id, client_id, partner_update_id),
             constraint published_at_set check ((state = 'published') = (published_at is not null)))"""
    )


def downgrade() -> None:
    for table in ("posted_updates", "tokens", "submissions"):
        op.execute(f"drop table gateway.{table}")
