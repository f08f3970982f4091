"""the notifier's staff side: a directory folded from the config topic (contacts sealed), teams, and the e-mails staff are owed about stuck requests and hot spots

Revision ID: notifier_0005_staff
Revises: notifier_0004_inbound
Create Date: 2026-12-05
"""

from alembic import op

revision = "notifier_0005_staff"
down_revision = "notifier_0004_inbound"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A staff account: its e-mail and display name stay sealed under the staff member's own key (unreadable once
    # that key is shredded); roles and teams are whole sets, as the staff events write them, so a replay of the
    # config topic leaves every row as it was.
    op.execute(
        """create table notifier.staff (
             staff_id uuid primary key,
             jurisdiction_id text not null,
             contact jsonb not null,
             roles text[] not null default '{}',
             teams text[] not null default '{}',
             active boolean not null default true)"""
    )
    op.execute("create index staff_of_jurisdiction on notifier.staff (jurisdiction_id)")
    op.execute(
        """create table notifier.teams (
             jurisdiction_id text not null,
             team_id text not null,
             name text not null,
             active boolean not null default true,
             primary key (jurisdiction_id, team_id))"""
    )
    # One row per selfheal event staff are told of (its public facts); its recipients are chosen when it is sent,
    # from the directory as it then is, and each gets one message (unique on the event and the staff member).
    op.execute(
        """create table notifier.staff_notices (
             cause_event_id uuid primary key,
             jurisdiction_id text not null,
             request_id text,
             kind text not null check (kind in ('escalated', 'reminded', 'cluster_escalated')),
             notice jsonb not null,
             occurred_at timestamptz not null,
             state text not null default 'pending' check (state in ('pending', 'expanded', 'no_recipient')),
             attempts integer not null default 0 check (attempts >= 0),
             next_attempt_at timestamptz not null default now(),
             created_at timestamptz not null default now())"""
    )
    op.execute(
        "create index staff_notices_due on notifier.staff_notices (next_attempt_at) where state = 'pending'"
    )
    op.execute(
        """create table notifier.staff_messages (
             message_id uuid primary key,
             seq bigint generated always as identity,
             cause_event_id uuid not null references notifier.staff_notices (cause_event_id),
             staff_id uuid not null,
             role text not null check (role in ('assignee', 'supervisor')),
             state text not null default 'pending'
               check (state in ('pending', 'sent', 'given_up', 'no_address', 'erased')),
             attempts integer not null default 0 check (attempts >= 0),
             next_attempt_at timestamptz not null default now(),
             created_at timestamptz not null default now(),
             updated_at timestamptz not null default now(),
             unique (cause_event_id, staff_id))"""
    )
    op.execute(
        "create index staff_messages_due on notifier.staff_messages (next_attempt_at) where state = 'pending'"
    )
    # A row per attempt, as for residents' messages: the provider's answer, never an address or a text.
    op.execute(
        """create table notifier.staff_attempts (
             message_id uuid not null references notifier.staff_messages (message_id),
             attempt integer not null check (attempt >= 1),
             provider text,
             provider_message_id text,
             outcome text not null check (outcome in ('accepted', 'refused', 'failed')),
             error text,
             attempted_at timestamptz not null default now(),
             primary key (message_id, attempt))"""
    )


def downgrade() -> None:
    for table in ("staff_attempts", "staff_messages", "staff_notices", "teams", "staff"):
        op.execute(f"drop table if exists notifier.{table}")
