"""the view keeps what a back-end's import says of a request until its submission opens the row

Revision ID: gateway_0009
Revises: gateway_0008
Create Date: 2026-12-05

`request.imported` comes before the `request.submitted` it brings, possibly in an earlier batch: the agency it names
(Open311 `agency_responsible`) waits here for the row. Rows folded before this revision show agencies (and public
comments as `status_notes`) once the view is rebuilt (`civicloop-gateway rebuild`).
"""

from alembic import op

revision = "gateway_0009"
down_revision = "gateway_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """create table gateway.imported_requests (
             service_request_id text primary key,
             agency_responsible text,
             event_id uuid not null
           )"""
    )


def downgrade() -> None:
    op.execute("drop table gateway.imported_requests")
