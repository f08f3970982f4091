"""Placing a request by hand, without IO: the body's ranges, who may be placed, the event and its fingerprint."""

import pytest
from civicloop_events import ActorKind, decode_event, encode_event, new_event_id
from civicloop_events.payloads import LocationCorrected
from civicloop_intake.domain.corrections import (
    CorrectionProblem,
    CorrectionRejected,
    CorrectLocation,
    check_correction,
    corrected_event,
    correction_hash,
)
from civicloop_intake.domain.merging import KnownRequest
from pydantic import ValidationError

A, B = "AAAA-0001", "BBBB-0002"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lat": 90.01, "long": 0}, "lat"),
        ({"lat": -90.5, "long": 0}, "lat"),
        ({"lat": 0, "long": 180.5}, "long"),
        ({"lat": 0, "long": -181}, "long"),
        ({"lat": float("nan"), "long": 0}, "lat"),
        ({"lat": 0, "long": float("inf")}, "long"),
        ({"long": 0}, "lat"),
        ({"lat": 0, "long": 0, "address": "   "}, "address"),
        ({"lat": 0, "long": 0, "address": "x" * 501}, "address"),
        ({"lat": 0, "long": 0, "note": "x" * 2001}, "note"),
        ({"lat": 0, "long": 0, "h3": "abc"}, "h3"),
    ],
)
def test_out_of_range_or_unknown_fields_are_refused(body, field):
    with pytest.raises(ValidationError) as caught:
        CorrectLocation(**body)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]


def test_the_edges_of_the_globe_are_places():
    assert CorrectLocation(lat=-90, long=180).model_dump() == {
        "lat": -90,
        "long": 180,
        "address": None,
        "note": "",
    }


def test_a_known_unmerged_request_is_placed_in_its_jurisdiction():
    assert check_correction(A, KnownRequest("demo")) == "demo"


def test_an_unknown_request_is_refused():
    with pytest.raises(CorrectionRejected) as caught:
        check_correction(A, None)
    assert caught.value.problem is CorrectionProblem.unknown_request


def test_a_merged_duplicate_is_refused_naming_the_original_to_place_instead():
    with pytest.raises(CorrectionRejected) as caught:
        check_correction(A, KnownRequest("demo", merged_into=B))
    assert caught.value.problem is CorrectionProblem.merged
    assert f"place {B} instead" in str(caught.value)


def test_the_event_is_the_agents_keyed_by_the_request_and_round_trips_the_contract():
    event_id = new_event_id()
    cmd = CorrectLocation(
        lat=38.8977, long=-77.0365, address=" 1600 Pennsylvania Ave NW ", note="pin was in the river"
    )
    event = corrected_event(cmd, number=A, jurisdiction_id="demo", agent_id="agent-7", event_id=event_id)
    again = decode_event(encode_event(event))
    assert (again.event_id, again.type, again.request_id, again.jurisdiction_id, again.source) == (
        event_id,
        "request.location.corrected",
        A,
        "demo",
        "agent",
    )
    assert (again.actor.kind, again.actor.id) == (ActorKind.agent, "agent-7")
    assert again.payload == LocationCorrected(
        lat=38.8977, long=-77.0365, address="1600 Pennsylvania Ave NW", note="pin was in the river"
    )


def test_the_fingerprint_tells_a_retry_from_another_correction():
    cmd = CorrectLocation(lat=1.5, long=2.5, address="1 Main St")
    same = correction_hash(
        CorrectLocation(lat=1.5, long=2.5, address="1 Main St "), number=A, agent_id="agent-7"
    )
    assert correction_hash(cmd, number=A, agent_id="agent-7") == same
    others = {
        correction_hash(cmd, number=B, agent_id="agent-7"),
        correction_hash(cmd, number=A, agent_id="agent-8"),
        correction_hash(
            CorrectLocation(lat=1.5, long=2.6, address="1 Main St"), number=A, agent_id="agent-7"
        ),
        correction_hash(CorrectLocation(lat=1.5, long=2.5), number=A, agent_id="agent-7"),
        correction_hash(
            CorrectLocation(lat=1.5, long=2.5, address="1 Main St", note="n"), number=A, agent_id="agent-7"
        ),
    }
    assert same not in others and len(others) == 5
