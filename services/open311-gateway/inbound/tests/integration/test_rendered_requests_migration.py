"""Migration gateway_0008: rows folded before it get their stored Open311 rendering, the one the fold writes."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from civicloop_gateway.database import GATEWAY_MIGRATIONS
from civicloop_gateway.domain.request_view import RENDERING, rendered_fields
from civicloop_gateway.settings import SCHEMA, Environment, GatewaySettings
from civicloop_open311.documents import REQUEST_FIELDS
from civicloop_runtime import migrations

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 30, 8, 15, 42, 250000, tzinfo=UTC)
# As the fold wrote a row before gateway_0008: an address-only request (no public point yet), awkward text.
ROW = {
    "service_request_id": "R-OLD",
    "status": "open",
    "service_name": "Pothole",
    "service_code": "POTHOLE",
    "description": 'Straße <kaputt> & "quoted"',
    "requested_datetime": WHEN,
    "updated_datetime": WHEN,
    "address_id": "A-1",
}
INSERT = (
    "insert into gateway.requests (service_request_id, jurisdiction_id, status, civicloop_status, service_name,"
    " service_code, description, requested_datetime, updated_datetime, address_id, media_urls, source,"
    " last_event_id, h3_resolution) values (%(service_request_id)s, 'springfield.example.gov', %(status)s, 'open',"
    " %(service_name)s, %(service_code)s, %(description)s, %(requested_datetime)s, %(updated_datetime)s,"
    " %(address_id)s, '{}', 'web', gen_random_uuid(), 9)"
)


def _upgrade(dsn: str, revision: str) -> None:
    url = GatewaySettings(env=Environment.test, pg_dsn=dsn).sqlalchemy_url
    migrations.upgrade(url, GATEWAY_MIGRATIONS, SCHEMA, revision=revision)


def test_existing_rows_get_the_rendering_the_fold_would_write(fresh_database_dsn: str):
    dsn = fresh_database_dsn
    _upgrade(dsn, "gateway_0007")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(INSERT, ROW)

    _upgrade(dsn, "head")

    with psycopg.connect(dsn, autocommit=True) as conn:
        stored = conn.execute(
            "select open311_json, open311_xml, open311_rendering from gateway.requests"
            " where service_request_id = 'R-OLD'"
        ).fetchone()
    expected = rendered_fields([ROW.get(name) for name in REQUEST_FIELDS])
    assert expected is not None
    assert stored == (expected.json, expected.xml, RENDERING)
    assert '"requested_datetime":"2026-11-30T08:15:42Z"' in expected.json
