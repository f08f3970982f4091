"""the notifier: the consumer's inbox and positions, the requests it tells about, the messages it owes, every attempt, and opt-outs as digests

Revision ID: notifier_0001
Revises:
Create Date: 2026-12-05
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl

revision = "notifier_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for ddl in consumer_tables_ddl("notifier"):
        op.execute(ddl)
    # A request's resident, as its submission said: the contact stays sealed (unreadable once the resident's key is
    # shredded); `merged_into` is the original this request follows since `merged_at`, when it was merged as a duplicate.
    op.execute(
        """create table notifier.requests (
             request_id text primary key,
             jurisdiction_id text not null,
             resident_id uuid,
             contact jsonb,
             preferred_channel text not null default 'none',
             language text not null default 'en',
             merged_into text,
             merged_at timestamptz,
             submitted_at timestamptz not null)"""
    )
    op.execute(
        "create index requests_followers on notifier.requests (merged_into) where merged_into is not null"
    )
    # One message per (event told about, resident), `seq` in the order they were queued: the unique key is what makes a replay send nothing. `notice` is
    # the public facts its text is made of; no contact and no rendered text is kept.
    op.execute(
        """create table notifier.messages (
             notification_id uuid primary key,
             seq bigint generated always as identity,
             cause_event_id uuid not null,
             occurred_at timestamptz not null,
             resident_id uuid not null,
             request_id text not null references notifier.requests (request_id),
             about_request_id text not null,
             jurisdiction_id text not null,
             kind text not null,
             notice jsonb not null,
             state text not null default 'pending'
               check (state in ('pending', 'sent', 'given_up', 'erased')),
             channel text,
             tried_channels text[] not null default '{}',
             attempts integer not null default 0 check (attempts >= 0),
             next_attempt_at timestamptz not null default now(),
             created_at timestamptz not null default now(),
             updated_at timestamptz not null default now(),
             unique (cause_event_id, resident_id))"""
    )
    op.execute("create index messages_due on notifier.messages (next_attempt_at) where state = 'pending'")
    # A resident hears of their request in the order things happened: only their oldest pending message is taken.
    op.execute(
        "create index messages_resident_queue on notifier.messages (resident_id, seq) where state = 'pending'"
    )
    op.execute("create index messages_of_request on notifier.messages (request_id)")
    op.execute("create index messages_about on notifier.messages (about_request_id, occurred_at)")
    # A row per attempt: what the provider answered. `error` is the provider's code or the error's class only.
    op.execute(
        """create table notifier.attempts (
             notification_id uuid not null references notifier.messages (notification_id),
             channel text not null,
             attempt integer not null check (attempt >= 1),
             provider text,
             provider_message_id text,
             outcome text not null check (outcome in ('accepted', 'refused', 'failed')),
             error text,
             attempted_at timestamptz not null default now(),
             primary key (notification_id, channel, attempt))"""
    )
    # Opt-outs per contact and channel, keyed by a peppered digest of the normalised contact: never the contact.
    op.execute(
        """create table notifier.opt_outs (
             digest bytea not null,
             channel text not null,
             opted_out boolean not null,
             changed_at timestamptz not null default now(),
             primary key (digest, channel))"""
    )


def downgrade() -> None:
    for table in ("opt_outs", "attempts", "messages", "requests", "consumer_positions", "inbox"):
        op.execute(f"drop table if exists notifier.{table}")
