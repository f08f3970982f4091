"""requests show a public place: H3 cell and resolution; lat/long/address backfilled to their public form

Revision ID: gateway_0005
Revises: gateway_0004
Create Date: 2026-11-23

`lat`, `long` and `address` become what GETs show: the centre of the point's H3 cell and a block-level address
(`civicloop_places`, DESIGN §4). The exact point stays in `location`, for the radius search; the submitted address
is not kept. Existing rows are rewritten here, in Python, because PostgreSQL has no H3 functions and the block
rule must be exactly the library's; the resolution is `CIVICLOOP_PUBLIC_H3_RESOLUTION` (default 9), as the
gateway's settings read it, so run this with the gateway's environment.

`h3_resolution` becomes NOT NULL and a served point needs its cell: a gateway older than this migration (consumer
`gateway.open311.v1`) can no longer write a request row, by design, rather than write an exact place again. Stop
it before migrating; the new version's consumer (`gateway.open311.v2`) replays the log from offset 0 and so also
folds the geo events published before it ran.
"""

import os

import sqlalchemy as sa
from alembic import op
from civicloop_places import DEFAULT_RESOLUTION, block_address, public_place

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None

BATCH = 5000


def _resolution() -> int:
    value = int(os.environ.get("CIVICLOOP_PUBLIC_H3_RESOLUTION", DEFAULT_RESOLUTION))
    if not 0 <= value <= 10:
        raise ValueError("CIVICLOOP_PUBLIC_H3_RESOLUTION must be between 0 and 10")
    return value


def upgrade() -> None:
    op.execute("alter table gateway.requests add column h3_cell text, add column h3_resolution smallint")
    resolution = _resolution()
    conn = op.get_bind()
    select = sa.text(
        "select service_request_id, ST_Y(location::geometry) as lat, ST_X(location::geometry) as long, address"
        " from gateway.requests where service_request_id > :after order by service_request_id limit :batch"
    )
    update = sa.text(
        "update gateway.requests set h3_cell = :h3_cell, h3_resolution = :h3_resolution, lat = :lat, long = :long,"
        " address = :address where service_request_id = :id"
    )
    after = ""
    while rows := conn.execute(select, {"after": after, "batch": BATCH}).all():
        changes = []
        for row in rows:
            if row.lat is None:
                changes.append(
                    {
                        "id": row.service_request_id,
                        "h3_cell": None,
                        "h3_resolution": resolution,
                        "lat": None,
                        "long": None,
                        "address": block_address(row.address),
                    }
                )
            else:
                place = public_place(row.lat, row.long, row.address, resolution=resolution)
                changes.append(
                    {
                        "id": row.service_request_id,
                        "h3_cell": place.h3_cell,
                        "h3_resolution": place.h3_resolution,
                        "lat": place.lat,
                        "long": place.long,
                        "address": place.address,
                    }
                )
        conn.execute(update, changes)
        after = rows[-1].service_request_id
    op.execute("alter table gateway.requests alter column h3_resolution set not null")
    op.execute(
        "alter table gateway.requests add constraint requests_public_point_is_a_cell"
        " check ((lat is null) = (h3_cell is null))"
    )


def downgrade() -> None:
    # The submitted addresses are gone; a downgrade keeps the public values and drops the cell.
    op.execute(
        "alter table gateway.requests drop constraint requests_public_point_is_a_cell,"
        " drop column h3_cell, drop column h3_resolution"
    )
