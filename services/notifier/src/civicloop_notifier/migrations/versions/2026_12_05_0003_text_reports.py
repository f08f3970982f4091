"""reports by text message: each number's conversation under a peppered digest, and the catalogue it offers

Revision ID: notifier_0003_text_reports
Revises: notifier_0002_feed
Create Date: 2026-12-05
"""

from alembic import op

revision = "notifier_0003_text_reports"
down_revision = "notifier_0002_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One conversation per number and channel, keyed by an HMAC of them under the pepper: never the number. A
    # finished conversation keeps only its id, language, step and times (`domain/text_report.py`).
    op.execute(
        """create table notifier.text_report_conversations (
             sender_digest bytea primary key,
             conversation jsonb not null,
             updated_at timestamptz not null)"""
    )
    # The jurisdictions' services as their latest `jurisdiction.service.defined` says (the config topic's fold).
    op.execute(
        """create table notifier.text_report_services (
             jurisdiction_id text not null,
             service_code text not null,
             service_name text not null,
             keywords jsonb not null,
             attributes jsonb not null,
             active boolean not null,
             event_id uuid not null,
             defined_at timestamptz not null,
             primary key (jurisdiction_id, service_code))"""
    )


def downgrade() -> None:
    for table in ("text_report_services", "text_report_conversations"):
        op.execute(f"drop table if exists notifier.{table}")
