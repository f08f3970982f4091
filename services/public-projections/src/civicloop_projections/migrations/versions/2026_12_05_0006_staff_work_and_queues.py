"""agent read model: staff's work (assignment, status reasons and notes, comments, visits, reopen, category) and the
queues' indexes; emptied for projections.agent.v4 to replay

Revision ID: projections_0006
Revises: projections_0005
Create Date: 2026-12-05
"""

from alembic import op

revision = "projections_0006"
down_revision = "projections_0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    "assignee text",
    "assigned_at timestamptz",
    "assigned_by text",
    "status_reason text",
    "referred_to text",
    "status_note text",
    "status_changed_at timestamptz",
    "status_changed_by text",
    "reopened_at timestamptz",
    "reopen_count integer not null default 0",
    "public_comments integer not null default 0",
    "internal_comments integer not null default 0",
    "last_comment_at timestamptz",
    "previous_service_code text",
    "last_activity_at timestamptz",
    "priority_set_at timestamptz",
    "visits jsonb not null default '[]'",
)

# Queues are asked per jurisdiction, in the page order; open work (not closed, not merged) is what a sidebar counts.
_INDEXES = {
    "agent_requests_jurisdiction_page": "(jurisdiction_id, updated_at desc, request_number)",
    "agent_requests_team_page": "(jurisdiction_id, team, updated_at desc, request_number)",
    "agent_requests_assignee_page": "(jurisdiction_id, assignee, updated_at desc, request_number)",
    "agent_requests_open_page": "(jurisdiction_id, updated_at desc, request_number) where status <> 'closed'",
}


def upgrade() -> None:
    # `projections.agent.v4` rebuilds the agent view from offset 0 with staff's work folded: its rows and history
    # must start empty, or the replay would count every event twice and collide on the history's event ids.
    op.execute("truncate projections.agent_requests, projections.agent_request_history")
    op.execute("alter table projections.agent_requests " + ", ".join(f"add column {c}" for c in _COLUMNS))
    for name, columns in _INDEXES.items():
        op.execute(f"create index {name} on projections.agent_requests {columns}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"drop index projections.{name}")
    op.execute(
        "alter table projections.agent_requests " + ", ".join(f"drop column {c.split()[0]}" for c in _COLUMNS)
    )
