"""Migrations gateway_0005 and gateway_0006: rows folded before the public place are rewritten to it, the radius
search's `location` included, and neither an older gateway nor anything else can write an exact place back."""

from __future__ import annotations

import psycopg
import pytest
from civicloop_gateway.database import GATEWAY_MIGRATIONS
from civicloop_gateway.settings import SCHEMA, Environment, GatewaySettings
from civicloop_places import public_place
from civicloop_runtime import migrations

pytestmark = pytest.mark.integration

# As the v1 fold wrote them: the submitted address and point in the served columns.
V1_INSERT = (
    "insert into gateway.requests (service_request_id, jurisdiction_id, status, civicloop_status, service_code,"
    " description, requested_datetime, updated_datetime, address, address_id, lat, long, location, media_urls,"
    " source, last_event_id) values (%(id)s, 'springfield.example.gov', 'open', 'open', 'POTHOLE', 'hole', now(),"
    " now(), %(address)s, 'A-1', %(lat)s, %(long)s,"
    " case when %(lat)s::float8 is null then null else ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326)::geography"
    " end, '{}', 'web', gen_random_uuid())"
)


def _upgrade(dsn: str, revision: str) -> None:
    url = GatewaySettings(env=Environment.test, pg_dsn=dsn).sqlalchemy_url
    migrations.upgrade(url, GATEWAY_MIGRATIONS, SCHEMA, revision=revision)


def test_existing_rows_get_their_public_place_and_lose_their_exact_point(
    fresh_database_dsn: str, monkeypatch
):
    dsn = fresh_database_dsn
    _upgrade(dsn, "gateway_0004")
    rows = [
        {
            "id": "R-POINT",
            "address": "2111 W Bellevue Ave, Apt 3",
            "lat": 34.073216645,
            "long": -118.266861909,
        },
        {"id": "R-ADDRESS", "address": "742 Evergreen Terrace", "lat": None, "long": None},
        {"id": "R-FREE", "address": "behind my house, ask for Jane", "lat": None, "long": None},
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for row in rows:
            conn.execute(V1_INSERT, row)

    monkeypatch.setenv(
        "CIVICLOOP_PUBLIC_H3_RESOLUTION", "8"
    )  # the deployment's setting, as the gateway reads it
    _upgrade(dsn, "head")

    with psycopg.connect(dsn, autocommit=True) as conn:
        got = {
            r[0]: r[1:]
            for r in conn.execute(
                "select service_request_id, lat, long, address, h3_cell, h3_resolution, ST_Y(location::geometry),"
                " ST_X(location::geometry) from gateway.requests"
            ).fetchall()
        }
        public = public_place(34.073216645, -118.266861909, resolution=8)
        assert got["R-POINT"] == (
            public.lat,
            public.long,
            "2100 block of W Bellevue Ave",
            public.h3_cell,
            8,
            public.lat,  # `location`, which the radius search reads: the public point, no longer the exact one
            public.long,
        )
        assert got["R-ADDRESS"] == (None, None, "700 block of Evergreen Terrace", None, 8, None, None)
        assert got["R-FREE"] == (None, None, None, None, 8, None, None)

        # A gateway older than the migration writes no h3_resolution: its insert fails instead of leaking.
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(V1_INSERT, {"id": "R-LATE", "address": "1 Main St", "lat": 34.0, "long": -118.0})
        # And a served point always has its cell.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("update gateway.requests set h3_cell = null where service_request_id = 'R-POINT'")
        # Nor can the exact point come back into `location`.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "update gateway.requests set location = ST_SetSRID(ST_MakePoint(-118.266861909, 34.073216645),"
                " 4326)::geography where service_request_id = 'R-POINT'"
            )
