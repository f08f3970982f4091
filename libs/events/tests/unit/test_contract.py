"""The contract itself: golden fixtures of every version, upcasting, schemas on disk, registry rules."""

import json
from pathlib import Path

import pytest
from civicloop_events import REGISTRY, Event, UnknownEventType, decode_event, encode_event
from civicloop_events.payloads import (
    UNPLACED_ADDRESS_ID,
    Location,
    ServiceRequestSubmitted,
    upcast_submitted_v1_v2,
)
from civicloop_events.registry import EventRegistry
from civicloop_events.schemas import drift
from pydantic import ValidationError

GOLDEN = Path(__file__).parents[1] / "golden"


def golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def test_every_registered_version_has_a_golden_fixture():
    expected = {f"{t}.v{v}.json" for t, v in REGISTRY.models}
    assert expected == {p.name for p in GOLDEN.glob("*.json")}


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden_fixture_decodes_to_the_latest_version(path: Path):
    raw = json.loads(path.read_text())
    event = decode_event(json.dumps(raw).encode())
    assert event.type == raw["type"]
    assert event.schema_version == REGISTRY.latest_version(raw["type"])
    assert str(event.event_id) == raw["event_id"]
    assert isinstance(event.payload, REGISTRY.models[(event.type, event.schema_version)])


def test_v1_submission_is_upcast_to_a_location_and_a_media_list():
    event = decode_event(golden("history/intake.service_request.submitted.v1.json"))
    assert isinstance(event.payload, ServiceRequestSubmitted)
    assert event.payload.location == Location(
        lat=34.073216645, long=-118.266861909, address_string="2111 W BELLEVUE AVE, 90026"
    )
    assert event.payload.media_urls == ["https://example.org/photos/1.jpg"]
    assert event.payload.contact is not None and str(event.payload.contact.resident_id).endswith("aa")
    assert event.payload.preferred_channel.value == "email"


def test_upcaster_is_pure():
    v1 = golden("history/intake.service_request.submitted.v1.json")["payload"]
    before = json.dumps(v1, sort_keys=True)
    upcast_submitted_v1_v2(v1)
    assert json.dumps(v1, sort_keys=True) == before


def test_written_events_keep_their_own_version_on_the_wire():
    # A type with one version: `request.status.changed` has a v2 since contract 1.5, to which its v1 is read.
    event = decode_event(golden("request.comment.added.v1.json"))
    again = json.loads(encode_event(event))
    assert again["schema_version"] == 1 and again["payload"]["text"] == event.payload.text


def test_a_status_change_v1_reads_as_v2_without_a_reason():
    event = decode_event(golden("request.status.changed.v1.json"))
    assert event.schema_version == 2 and event.payload.status == "in_progress"
    assert (event.payload.reason, event.payload.referred_to) == (None, None)


def test_checked_in_json_schemas_match_the_models():
    assert drift() == [], "run `make schemas` and commit libs/events/schemas/"


def test_unknown_type_and_version_are_rejected():
    raw = golden("request.status.changed.v1.json")
    with pytest.raises(UnknownEventType):
        decode_event({**raw, "type": "request.teleported"})
    with pytest.raises(UnknownEventType):
        decode_event({**raw, "schema_version": 99})
    with pytest.raises(UnknownEventType):
        decode_event(b"{not json")
    with pytest.raises(UnknownEventType):
        decode_event(b"[1, 2]")


def test_envelope_rejects_naive_times_and_unknown_fields():
    raw = golden("request.status.changed.v1.json")
    with pytest.raises(ValidationError):
        decode_event({**raw, "occurred_at": "2026-11-21T08:30:00"})
    with pytest.raises(ValidationError):
        decode_event({**raw, "payload": {**raw["payload"], "phone": "+15551234567"}})


def test_a_new_version_needs_an_upcaster():
    registry = EventRegistry()
    with pytest.raises(ValueError, match="upcaster"):
        registry.register(ServiceRequestSubmitted)


def test_location_needs_a_place_and_both_coordinates():
    with pytest.raises(ValidationError):
        Location()
    with pytest.raises(ValidationError):
        Location(lat=1.0)
    assert Location(address_string="1 Main St").has_point is False


def test_caused_events_share_the_correlation_id():
    first = decode_event(golden("request.submitted.v2.json"))
    from civicloop_events import Actor, StatusChanged

    second = Event.create(
        StatusChanged(status="closed", previous_status="open"),
        request_id=first.request_id,
        jurisdiction_id="demo",
        actor=Actor(kind="agent", id="a1"),
        source="agent",
        causation=first,
    )
    assert second.causation_id == first.event_id
    assert second.correlation_id == first.correlation_id
    assert second.key == first.request_id.encode()


def test_a_v1_submission_that_named_no_place_upcasts_to_an_unplaced_location():
    """v1 required no place; such an event must be read (agents place it), not dead-lettered."""
    event = decode_event(golden("history/intake.service_request.submitted.v1.no_place.json"))
    assert isinstance(event.payload, ServiceRequestSubmitted)
    assert (
        event.type == ServiceRequestSubmitted.event_type
        and event.schema_version == ServiceRequestSubmitted.schema_version
    )
    assert event.payload.location == Location(address_id=UNPLACED_ADDRESS_ID)
    assert not event.payload.location.has_point and event.payload.location.address_string is None
    assert event.payload.media_urls == [] and event.payload.preferred_channel.value == "none"


@pytest.mark.parametrize(
    ("flat", "location"),
    [
        ({"lat": 34.07}, {"address_id": UNPLACED_ADDRESS_ID}),
        ({"long": -118.2, "address_string": "1 Main St"}, {"address_string": "1 Main St"}),
        ({"address_string": ""}, {"address_id": UNPLACED_ADDRESS_ID}),
        ({"address_string": "x" * 600}, {"address_string": "x" * 500}),
        ({"lat": 0.0, "long": 0.0}, {"lat": 0.0, "long": 0.0}),
    ],
    ids=["lone-lat", "lone-long-with-address", "empty-address", "address-too-long", "null-island"],
)
def test_every_v1_location_shape_upcasts_to_a_valid_location(flat, location):
    upcast = upcast_submitted_v1_v2({"service_code": "pothole", **flat})
    assert Location.model_validate(upcast["location"]) == Location.model_validate(location)


def every_stored_fixture() -> list[Path]:
    return sorted(GOLDEN.rglob("*.json"))


@pytest.mark.parametrize("path", every_stored_fixture(), ids=lambda p: p.stem)
@pytest.mark.parametrize("compact", [True, False], ids=["as-written", "spaced"])
def test_a_record_decodes_from_its_bytes_exactly_as_from_its_parsed_json(path: Path, compact: bool):
    """The one-pass path (the type and version read near the start) and the general one agree on every fixture,
    written compactly as `encode_event` does (the one-pass path) or otherwise (the general path)."""
    raw = json.loads(path.read_text())
    data = json.dumps(raw, separators=(",", ":") if compact else None).encode()
    assert decode_event(data) == REGISTRY.decode(raw)


def test_a_record_written_in_another_key_order_decodes_the_same():
    event = decode_event(golden("request.status.changed.v1.json"))
    raw = json.loads(encode_event(event))
    payload_first = {"payload": raw["payload"], **{k: v for k, v in raw.items() if k != "payload"}}
    data = json.dumps(payload_first, separators=(",", ":")).encode()
    assert data.index(b'"payload"') < data.index(b'"type"')
    assert decode_event(data) == event


def test_a_record_that_fails_validation_fails_as_the_general_path_says():
    raw = golden("request.status.changed.v1.json")
    raw["payload"]["unknown_field"] = 1
    data = json.dumps(raw, separators=(",", ":")).encode()
    with pytest.raises(ValidationError) as general:
        REGISTRY.decode(raw)
    with pytest.raises(ValidationError) as one_pass:
        decode_event(data)
    assert one_pass.value.errors() == general.value.errors()
