"""outbound Open311 client: references, polling state, imports

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-11-23
"""

from alembic import op
from civicloop_gateway.migrations.outbound_moved import drop_tables, outbound_has_them

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if outbound_has_them():
        return
    # The back-end's id of each request sent to it or imported from it, folded from ExternalReferenceAssigned (and
    # written directly by whoever publishes one), so an update or an imported row finds its request.
    # `last_status` is the CivicLoop status the back-end last put the request in (None: not heard yet).
    op.execute(
        """create table gateway.external_refs (
             jurisdiction_id text not null,
             body_id text not null,
             external_id text not null,
             request_id text not null,
             last_status text,
             assigned_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, external_id))"""
    )
    op.execute("create index external_refs_by_request on gateway.external_refs (request_id)")
    # Updates already turned into events: servicerequestupdates' update_id, or for GET requests a synthesised one
    # (external id, updated_datetime, status).
    op.execute(
        """create table gateway.backend_updates_seen (
             jurisdiction_id text not null,
             body_id text not null,
             update_id text not null,
             external_id text not null,
             seen_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, update_id))"""
    )
    # Where each poll of each body stands (`kind`: updates, mopup, import), so a restart resumes where it stopped.
    op.execute(
        """create table gateway.backend_poll_state (
             jurisdiction_id text not null,
             body_id text not null,
             kind text not null check (kind in ('updates', 'mopup', 'import')),
             window_end timestamptz not null,
             polled_at timestamptz not null default now(),
             last_error text,
             primary key (jurisdiction_id, body_id, kind))"""
    )
    # Batch tokens (PR-12) waiting for the back-end's id, polled with back-off until resolved or given up.
    op.execute(
        """create table gateway.open311_tokens (
             jurisdiction_id text not null,
             body_id text not null,
             token text not null,
             request_id text not null,
             attempts integer not null default 0,
             next_poll_at timestamptz not null default now(),
             state text not null default 'pending' check (state in ('pending', 'resolved', 'given_up')),
             external_id text,
             last_error text,
             created_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, token))"""
    )
    op.execute(
        "create index open311_tokens_due on gateway.open311_tokens (next_poll_at) where state = 'pending'"
    )
    # Requests brought in from a back-end: never imported twice.
    op.execute(
        """create table gateway.backend_imports (
             jurisdiction_id text not null,
             body_id text not null,
             external_id text not null,
             request_id text,
             outcome text not null check (outcome in ('imported', 'skipped')),
             reason text not null default '',
             decided_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, external_id))"""
    )


def downgrade() -> None:
    drop_tables(
        "backend_imports", "open311_tokens", "backend_poll_state", "backend_updates_seen", "external_refs"
    )
