"""What the view stores of each request for the reads to assemble (gateway_0008): its Open311 object in JSON and
XML, the service name left out, written by a version of the rendering (`RENDERING`)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from civicloop_events.payloads import RequestStatus
from civicloop_gateway.domain.request_view import RENDERING, RequestRow, rendered
from civicloop_open311.documents import REQUEST_FIELDS, rendered_requests_document, view_requests_document
from civicloop_open311.formats import Format
from civicloop_open311.render import render

ROW = RequestRow(
    service_request_id="ABCD-1234",
    jurisdiction_id="springfield.example.gov",
    status="open",
    civicloop_status=RequestStatus.open,
    service_code="POTHOLE",
    service_name="Pothole & <co>",
    description="Deep hole",
    requested_datetime=datetime(2026, 3, 1, 9, 0, 12, 345678, tzinfo=UTC),
    updated_datetime=datetime(2026, 3, 1, 4, 30, tzinfo=timezone(timedelta(hours=-5))),
    source="web",
    last_event_id=UUID(int=1),
    address="0 block of Main St",
    lat=38.900123,
    long=-77.000456,
)

# The stored texts of ROW. If a change to the rendering changes them, raise RENDERING too (rows written before are
# then served from their columns until `civicloop-gateway render-view` writes them again) and write the new texts.
JSON = (
    '{"service_request_id":"ABCD-1234","status":"open","status_notes":null,"service_name":\x01,'
    '"service_code":"POTHOLE","description":"Deep hole","agency_responsible":null,"service_notice":null,'
    '"requested_datetime":"2026-03-01T09:00:12Z","updated_datetime":"2026-03-01T09:30:00Z",'
    '"expected_datetime":null,"address":"0 block of Main St","address_id":null,"zipcode":null,'
    '"lat":38.900123,"long":-77.000456,"media_url":null}'
)
XML = (
    "<request><service_request_id>ABCD-1234</service_request_id><status>open</status><status_notes></status_notes>"
    "<service_name>\x01</service_name><service_code>POTHOLE</service_code><description>Deep hole</description>"
    "<agency_responsible></agency_responsible><service_notice></service_notice>"
    "<requested_datetime>2026-03-01T09:00:12Z</requested_datetime>"
    "<updated_datetime>2026-03-01T09:30:00Z</updated_datetime><expected_datetime></expected_datetime>"
    "<address>0 block of Main St</address><address_id></address_id><zipcode></zipcode><lat>38.900123</lat>"
    "<long>-77.000456</long><media_url></media_url></request>"
)


def test_the_rendering_of_a_row_is_pinned_to_its_version():
    assert RENDERING == 1
    shown = rendered(ROW)
    assert shown is not None and (shown.json, shown.xml) == (JSON, XML)


def test_a_list_of_stored_renderings_is_the_list_of_the_rows_as_the_view_reads_them():
    """As the reads see a row: datetimes as W3C text in UTC, seconds truncated."""
    values = [getattr(ROW, name) for name in REQUEST_FIELDS]
    as_read = [
        v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else v for v in values
    ]
    shown = rendered(ROW)
    assert shown is not None
    for fmt, text in ((Format.json, shown.json), (Format.xml, shown.xml)):
        assert rendered_requests_document([(text, ROW.service_name)], fmt) == render(
            view_requests_document([as_read]), fmt
        )


def test_a_row_no_rendering_can_carry_has_none_and_is_served_from_its_columns():
    assert rendered(replace(ROW, description="lone \ud800 surrogate")) is None
    assert rendered(replace(ROW, lat=float("nan"))) is None
