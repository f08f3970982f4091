"""requests keep their Open311 object rendered in JSON and XML, so a list is assembled, not rendered

Revision ID: gateway_0008
Revises: gateway_0007
Create Date: 2026-12-05

`open311_json` and `open311_xml` hold the request object as GET requests shows it, the service name left out (a
hole the read fills: a service's rename renames all its requests in SQL), and `open311_rendering` the version of
the rendering that wrote them (`civicloop_gateway.domain.request_view.RENDERING`). The fold writes them with the
row. Existing rows are rendered here, in Python, with the gateway's own rendering; a row without one (or of another
version) is served from its columns, as before, so the reads stay right while `civicloop-gateway render-view`
catches up after a rendering change.
"""

import psycopg
from alembic import op

revision = "gateway_0008"
down_revision = "gateway_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from civicloop_gateway.adapters.postgres_view import render_stale_batch

    op.execute(
        "alter table gateway.requests add column open311_json text, add column open311_xml text,"
        " add column open311_rendering smallint"
    )
    conn = op.get_bind().connection.driver_connection  # psycopg, in the migration's transaction
    if not isinstance(conn, psycopg.Connection):
        raise RuntimeError("gateway_0008 runs on psycopg (postgresql+psycopg://)")
    after: str | None = ""
    while after is not None:
        after = render_stale_batch(conn, after=after)


def downgrade() -> None:
    op.execute(
        "alter table gateway.requests drop column open311_json, drop column open311_xml,"
        " drop column open311_rendering"
    )
