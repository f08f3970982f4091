"""the notifier's visits, photos and govDelivery feed: each visit change with its calendar SEQUENCE, a request's public photos, the feed's requests, queued bulletins and their attempts

Revision ID: notifier_0002_feed
Revises: notifier_0001
Create Date: 2026-12-05
"""

from alembic import op

revision = "notifier_0002_feed"
down_revision = "notifier_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each change of a visit the fold saw, numbered from 0 in the order of the log: the calendar entry's SEQUENCE.
    # Keyed by the event, so a replay finds the number it was given; the window and the resident-facing address are
    # kept so a cancellation (which carries neither) still names the entry's place.
    op.execute(
        """create table notifier.visit_changes (
             cause_event_id uuid primary key,
             visit_id text not null,
             request_id text not null,
             sequence integer not null check (sequence >= 0),
             duration_minutes integer,
             address text,
             unique (visit_id, sequence))"""
    )
    # A request's public photos (the submission's, public comments', back-ends'): URLs only, in the order seen.
    op.execute(
        """create table notifier.request_media (
             request_id text not null,
             url text not null,
             seen_at timestamptz not null,
             primary key (request_id, url))"""
    )
    # What the govDelivery feed knows of a request: public facts only (its category, its district, the block-level
    # place geo made public); never the resident.
    op.execute(
        """create table notifier.feed_requests (
             request_id text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             district text,
             public_address text,
             placed boolean not null default false)"""
    )
    # One bulletin per (event, topic set), queued in the fold's transaction: the unique key makes a replay queue
    # nothing; `facts` are the public facts its text is made of.
    op.execute(
        """create table notifier.feed_bulletins (
             bulletin_id uuid primary key,
             seq bigint generated always as identity,
             cause_event_id uuid not null,
             occurred_at timestamptz not null,
             request_id text not null,
             jurisdiction_id text not null,
             topics text[] not null,
             kind text not null,
             facts jsonb not null,
             state text not null default 'pending' check (state in ('pending', 'sent', 'given_up')),
             attempts integer not null default 0 check (attempts >= 0),
             provider_id text,
             next_attempt_at timestamptz not null default now(),
             created_at timestamptz not null default now(),
             updated_at timestamptz not null default now(),
             unique (cause_event_id, topics))"""
    )
    op.execute(
        "create index feed_bulletins_due on notifier.feed_bulletins (next_attempt_at) where state = 'pending'"
    )
    op.execute(
        """create table notifier.feed_attempts (
             bulletin_id uuid not null references notifier.feed_bulletins (bulletin_id),
             attempt integer not null check (attempt >= 1),
             provider text,
             provider_message_id text,
             outcome text not null check (outcome in ('accepted', 'refused', 'failed')),
             error text,
             attempted_at timestamptz not null default now(),
             primary key (bulletin_id, attempt))"""
    )


def downgrade() -> None:
    for table in ("feed_attempts", "feed_bulletins", "feed_requests", "request_media", "visit_changes"):
        op.execute(f"drop table if exists notifier.{table}")
