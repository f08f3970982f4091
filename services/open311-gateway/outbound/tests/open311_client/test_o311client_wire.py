"""The Open311 client's pure reading and writing, on fixtures of what real servers send (CHECKLIST §8, §10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from civicloop_open311 import wire
from civicloop_open311.wire import OutgoingRequest
from civicloop_outbound.adapters.open311_client import (
    Open311Permanent,
    Open311Temporary,
    raise_for_answer,
    resolve_api_key,
    secret_env_name,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- sending ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (37.76524078, "37.765241"),
        (-122.4212043, "-122.421204"),
        (39.78, "39.78"),
        (40.0, "40"),
        (-0.0000001, "0"),
        (0.1 + 0.2, "0.3"),
    ],
)
def test_coordinates_have_at_most_six_decimals_and_no_trailing_zeros(value: float, text: str) -> None:
    assert wire.format_coordinate(value) == text


def test_the_form_carries_keys_jurisdiction_location_and_our_number() -> None:
    outgoing = OutgoingRequest(
        service_code="POTHOLE",
        description="Große Lücke",
        lat=39.7817,
        long=-89.65,
        address_string="1 Main St",
        attributes={"DEPTH": ["deep"], "EMPTY": [""]},
        request_number="ABCD-1234",
    )
    pairs = wire.request_form(
        outgoing,
        jurisdiction_id="city.gov",
        api_key="k",
        id_field="civicloop_id",
        extra_attributes={"source": "civicloop"},
    )
    form = dict(pairs)
    assert form["api_key"] == "k" and form["jurisdiction_id"] == "city.gov"
    assert form["lat"] == "39.7817" and form["long"] == "-89.65"
    assert form["attribute[civicloop_id]"] == "ABCD-1234"
    assert form["attribute[source]"] == "civicloop" and form["attribute[DEPTH]"] == "deep"
    assert "attribute[EMPTY]" not in form  # G-50: empty means absent, so it is not sent
    assert form["description"].startswith("Große Lücke") and form["description"].endswith(
        "[CivicLoop ABCD-1234]"
    )
    # UTF-8 on the wire, percent-encoded
    assert "Gro%C3%9Fe" in urlencode(pairs, encoding="utf-8")


def test_multivaluelist_styles() -> None:
    outgoing = OutgoingRequest(service_code="S", address_string="x", attributes={"HAZ": ["wires", "glass"]})
    brackets = wire.request_form(
        outgoing, jurisdiction_id=None, api_key=None, multivaluelist_style="brackets"
    )
    repeat = wire.request_form(outgoing, jurisdiction_id=None, api_key=None, multivaluelist_style="repeat")
    assert [p for p in brackets if p[0].startswith("attribute")] == [
        ("attribute[HAZ][]", "wires"),
        ("attribute[HAZ][]", "glass"),
    ]
    assert [p for p in repeat if p[0].startswith("attribute")] == [
        ("attribute[HAZ]", "wires"),
        ("attribute[HAZ]", "glass"),
    ]
    one = OutgoingRequest(service_code="S", address_string="x", attributes={"HAZ": ["wires"]})
    declared = wire.request_form(one, jurisdiction_id=None, api_key=None, multi_valued={"HAZ"})
    assert ("attribute[HAZ][]", "wires") in declared
    assert "jurisdiction_id" not in dict(declared) and "api_key" not in dict(declared)


def test_description_is_cut_to_4000_with_the_marker_kept() -> None:
    text = wire.clip_description("x" * 5000, wire.civicloop_marker("ABCD-1234"))
    assert len(text) == 4000 and text.endswith("[CivicLoop ABCD-1234]")
    assert len(wire.clip_description("y" * 5000, None)) == 4000


def test_api_key_comes_from_the_named_secret() -> None:
    assert secret_env_name("partner-b.key") == "CIVICLOOP_SECRET_PARTNER_B_KEY"
    assert resolve_api_key("partner-b.key", {"CIVICLOOP_SECRET_PARTNER_B_KEY": "s3cret"}) == "s3cret"
    assert resolve_api_key(None, {}) is None
    with pytest.raises(Open311Permanent, match="CIVICLOOP_SECRET_MISSING"):
        resolve_api_key("missing", {})


# -- reading ------------------------------------------------------------------------------------------------------


def test_post_answers_of_every_shape() -> None:
    spec = wire.post_answers(fixture("post_realtime_spec.xml"), "text/xml; charset=utf-8")
    assert spec.service_request_id == "293944" and spec.token is None
    assert spec.service_notice.startswith("The City will inspect") and spec.service_notice.endswith(
        "24 hours"
    )
    numeric = wire.post_answers(fixture("post_realtime_numeric.json"), "application/json")
    assert numeric.service_request_id == "293944"  # G-31: a JSON number read as a string id
    assert (
        wire.post_answers(fixture("post_markaspot.json"), "application/json").service_request_id == "MAS-17"
    )
    token = wire.post_answers(fixture("post_token.xml"), "application/xml")
    assert token.token == "369FBB0C-4755-11EC-96C0-F6CCC296753D" and token.service_request_id is None
    assert wire.post_answers(b"[]", "application/json") == wire.PostAnswer(None, None)  # blackbox


def test_content_type_lies_and_the_body_is_sniffed() -> None:
    assert wire.sniff_format(fixture("post_token.xml"), "application/json") == "xml"
    assert wire.sniff_format(b"\xef\xbb\xbf  [1]", "text/xml") == "json"
    assert wire.sniff_format(b"", "application/xml; charset=utf-8") == "xml"
    with pytest.raises(wire.UnreadableDocument):
        wire.sniff_format(b"oops", "text/html")


def test_arrays_of_one_and_empty_elements() -> None:
    [one] = wire.remote_requests(fixture("requests_one.xml"), "application/xml")
    assert one.service_request_id == "001"  # leading zeros kept
    assert one.status == "open"  # lower-cased
    assert one.description == ""  # G-23 empty element
    assert one.requested_datetime == datetime(2011, 2, 3, 14, 18, tzinfo=UTC)
    assert one.updated_datetime == datetime(2012, 9, 18, 15, 37, tzinfo=timezone(timedelta(hours=-5)))
    assert one.address == "1 Main St" and one.media_url == "http://x.example/1.jpg"
    assert one.lat == pytest.approx(37.76) and one.long == pytest.approx(-122.41)
    assert wire.remote_requests(fixture("requests_empty.xml"), "text/xml") == []
    assert wire.remote_requests(b"", None) == []


def test_json_wrapped_root_string_numbers_and_token_only_rows() -> None:
    rows = wire.remote_requests(fixture("requests_strings.json"), "text/plain")
    assert [r.service_request_id for r in rows] == ["77"]  # the token-only row is skipped (TK-03)
    row = rows[0]
    assert (
        row.service_code == "1"
        and row.lat == pytest.approx(60.451667)
        and row.long == pytest.approx(22.266944)
    )
    assert row.requested_datetime == datetime(2018, 9, 6, 19, 51, 48, tzinfo=UTC)
    assert row.updated_datetime == datetime(2018, 9, 6, 18, 51, 48, 123456, tzinfo=UTC)
    assert row.media_url == "https://b.example/p.jpg"
    assert row.attributes == {"civicloop_id": ["ABCD-1234"]}


def test_updates_with_an_odd_root_and_wrapped_json() -> None:
    [fms] = wire.remote_updates(fixture("updates_fms_misnamed.xml"), "text/xml")
    assert (fms.update_id, fms.service_request_id, fms.status) == ("638344", "1", "open")
    assert fms.updated_datetime == datetime(2024, 5, 1, 10, tzinfo=UTC) and fms.media_url is None
    updates = wire.remote_updates(fixture("updates_wrapped.json"), "application/json; charset=utf-8")
    assert len(updates) == 1  # the one without update_id is skipped, as FMS does
    assert updates[0].update_id == "9001" and updates[0].status == "closed"
    assert updates[0].external_status_code == "FIXED"
    assert updates[0].updated_datetime == datetime(2024, 5, 1, 15, tzinfo=UTC)
    assert updates[0].media_url == "https://x.example/a.jpg"


def test_agency_responsible_is_read_in_both_formats_and_an_empty_one_is_none() -> None:
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><service_requests>'
        "<request><service_request_id>1</service_request_id><status>open</status>"
        "<agency_responsible> Helsingin kaupunki, Kaupunkiympäristö </agency_responsible></request>"
        "<request><service_request_id>2</service_request_id><status>open</status><agency_responsible/></request>"
        "</service_requests>"
    ).encode()
    named, empty = wire.remote_requests(xml, "text/xml")
    assert (
        named.agency_responsible == "Helsingin kaupunki, Kaupunkiympäristö"
        and empty.agency_responsible is None
    )
    document = b'[{"service_request_id": 3, "status": "open", "agency_responsible": "Ymp\xc3\xa4rist\xc3\xb6keskus"},'
    document += b' {"service_request_id": 4, "status": "open"}]'
    named, absent = wire.remote_requests(document, "application/json")
    assert named.agency_responsible == "Ympäristökeskus" and absent.agency_responsible is None
    update = (
        b'[{"update_id": "u", "service_request_id": "3", "status": "open",'
        b' "updated_datetime": "2016-01-01T00:00:00Z", "agency_responsible": "HKL"}]'
    )
    assert [u.agency_responsible for u in wire.remote_updates(update, "application/json")] == ["HKL"]


def test_string_booleans() -> None:
    [service] = wire.records(fixture("services_strbool.json"), "application/json")
    assert wire.as_bool(service["metadata"]) is True
    assert wire.as_bool("FALSE") is False and wire.as_bool(None) is None and wire.as_bool("maybe") is None


def test_errors_of_every_shape() -> None:
    assert wire.remote_errors(fixture("errors_fms.xml"))[0].code == "400"
    assert wire.remote_errors(fixture("error_bare.xml"))[0].description == "bad key"
    assert wire.remote_errors(fixture("errors_message.json"))[0].description == "api_key invalid"
    assert wire.remote_errors(b"<html><body>Gateway Timeout</body>") == []


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(wire.UnreadableDocument, match="refused"):
        wire.records(fixture("entity_bomb.xml"), "text/xml")


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None):
    import httpx

    return httpx.Response(
        status,
        content=body,
        headers=headers or {},
        request=httpx.Request("POST", "http://b.example/requests.xml?api_key=secret"),
    )


def test_error_classes() -> None:
    raise_for_answer(_response(201))  # any 2xx is success (PR-10)
    with pytest.raises(Open311Permanent) as refused:
        raise_for_answer(_response(400, fixture("errors_fms.xml"), {"content-type": "text/xml"}))
    assert "Service Code cannot be null" in str(refused.value) and "secret" not in str(refused.value)
    with pytest.raises(Open311Temporary) as busy:
        raise_for_answer(_response(429, b"", {"retry-after": "7"}))
    assert busy.value.retry_after_s == 7
    with pytest.raises(Open311Temporary):
        raise_for_answer(_response(503, b"<html>down</html>", {"content-type": "text/html"}))


def test_discovery_picks_the_production_georeport_endpoint_and_prefers_json() -> None:
    endpoint, fmt = wire.choose_endpoint(wire.discovery_endpoints(fixture("discovery_parker.json")))
    assert endpoint.url == "https://prod.example/open311/v2" and fmt == "json"
    assert endpoint.changeset == datetime(2012, 9, 18, 20, 37, tzinfo=UTC)
    test_endpoint, _ = wire.choose_endpoint(
        wire.discovery_endpoints(fixture("discovery_parker.json")), kind="test"
    )
    assert test_endpoint.url == "https://test.example/open311/v2"
    one, xml = wire.choose_endpoint(wire.discovery_endpoints(fixture("discovery_one.xml"), "application/xml"))
    assert (one.url, xml, one.formats) == ("https://city.example/v2", "xml", ("text/xml",))
    assert wire.choose_endpoint([]) is None
