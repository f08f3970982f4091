"""the radius search's `location` holds the public point: exact points left by gateway_0005 are replaced

Revision ID: gateway_0006
Revises: gateway_0005
Create Date: 2026-12-04

gateway_0005 made `lat`, `long` and `address` public but left the exact point in `location` for the rows it
rewrote, and the radius search reads `location`: repeated small-radius queries could narrow those requests down
to where the resident stood. Every row's `location` becomes its public point (the H3 cell centre already in `lat`,
`long`; none when there is none), and a check keeps it so: `location` can hold nothing but the served point. The
fold has written the public point there since gateway_0005, so rows folded since are unchanged.

The exact points are gone for good: a downgrade drops the check and keeps the public points.
"""

from alembic import op

revision = "gateway_0006"
down_revision = "gateway_0005"
branch_labels = None
depends_on = None

PUBLIC_POINT = "ST_SetSRID(ST_MakePoint(long, lat), 4326)::geography"


def upgrade() -> None:
    # `location` is null exactly when `lat` is (a check since gateway_0001), so only points need rewriting.
    op.execute(
        f"update gateway.requests set location = {PUBLIC_POINT}"
        f" where location is not null and not ST_Equals(location::geometry, {PUBLIC_POINT}::geometry)"
    )
    op.execute(
        "alter table gateway.requests add constraint requests_location_is_the_public_point"
        f" check (location is null or ST_Equals(location::geometry, {PUBLIC_POINT}::geometry))"
    )


def downgrade() -> None:
    op.execute("alter table gateway.requests drop constraint requests_location_is_the_public_point")
