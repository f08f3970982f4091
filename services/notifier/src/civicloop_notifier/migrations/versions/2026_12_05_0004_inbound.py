"""the notifier's inbound side: delivery receipts on attempts, which requests are still open, residents' conversations

Revision ID: notifier_0004_inbound
Revises: notifier_0003_text_reports
Create Date: 2026-12-05
"""

from alembic import op

revision = "notifier_0004_inbound"
down_revision = "notifier_0003_text_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # What the provider said later about an accepted message (Twilio's status callback): its state and error code.
    op.execute(
        """alter table notifier.attempts
             add column delivery_state text,
             add column delivery_error text,
             add column delivery_at timestamptz"""
    )
    op.execute(
        "create index attempts_by_provider_id on notifier.attempts (provider_message_id)"
        " where provider_message_id is not null"
    )
    # Receipts as they came (a callback can arrive before the attempt it names has committed): applied once each.
    op.execute(
        """create table notifier.delivery_receipts (
             provider_message_id text not null,
             state text not null,
             error_code integer,
             received_at timestamptz not null default now(),
             applied_at timestamptz,
             primary key (provider_message_id, state))"""
    )
    op.execute(
        "create index delivery_receipts_unapplied on notifier.delivery_receipts (received_at)"
        " where applied_at is null"
    )
    # A request a resident's text can land on is one not closed (and not merged into another).
    op.execute("alter table notifier.requests add column closed boolean not null default false")
    op.execute("create index requests_of_resident on notifier.requests (resident_id)")
    # One conversation per resident across channels: the request they last talked about, and, while they are asked
    # which of their requests a text is about, that text sealed with their own key (unreadable once erased).
    op.execute(
        """create table notifier.conversations (
             resident_id uuid primary key,
             request_id text,
             choices text[] not null default '{}',
             pending_id text,
             pending_text bytea,
             pending_channel text,
             updated_at timestamptz not null default now())"""
    )
    # The provider's id of each resident's message that landed (or waits): a webhook retried is not taken twice.
    op.execute(
        """create table notifier.inbound_messages (
             inbound_id text primary key,
             received_at timestamptz not null default now())"""
    )


def downgrade() -> None:
    op.execute("drop table if exists notifier.inbound_messages")
    op.execute("drop table if exists notifier.conversations")
    op.execute("drop index if exists notifier.requests_of_resident")
    op.execute("alter table notifier.requests drop column if exists closed")
    op.execute("drop table if exists notifier.delivery_receipts")
    op.execute("drop index if exists notifier.attempts_by_provider_id")
    op.execute(
        "alter table notifier.attempts drop column delivery_state, drop column delivery_error,"
        " drop column delivery_at"
    )
