"""Property tests: any valid event survives the wire unchanged, and any v1 submission upcasts to a valid v2."""

import json

from civicloop_events import decode_event, encode_event
from civicloop_events.payloads import (
    CommentAdded,
    Location,
    ServiceRequestSubmitted,
    ServiceRequestSubmittedV1,
    StatusChanged,
)
from civicloop_events.personal_data import SealedPersonalData
from event_strategies import actor_kinds, envelope, numbers, times
from hypothesis import given, settings
from hypothesis import strategies as st

text = st.text(max_size=200)
lat = st.floats(min_value=-90, max_value=90, allow_nan=False)
long = st.floats(min_value=-180, max_value=180, allow_nan=False)
sealed = st.builds(
    SealedPersonalData,
    resident_id=st.uuids(),
    nonce=st.just("AAAAAAAAAAAAAAAA"),
    ciphertext=st.binary(min_size=16, max_size=64).map(lambda b: __import__("base64").b64encode(b).decode()),
)
locations = st.one_of(
    st.builds(Location, lat=lat, long=long, address_string=st.none() | st.text(min_size=1, max_size=80)),
    st.builds(Location, address_string=st.text(min_size=1, max_size=80)),
)
codes = st.from_regex(r"\A[a-z][a-z0-9_-]{0,30}\Z")
submitted = st.builds(
    ServiceRequestSubmitted,
    service_code=codes,
    description=text,
    location=locations,
    attributes=st.dictionaries(codes, st.lists(st.text(max_size=20), max_size=3), max_size=3),
    media_urls=st.lists(st.just("https://example.org/p.jpg"), max_size=2),
    contact=st.none() | sealed,
)
payloads = st.one_of(
    submitted,
    st.builds(StatusChanged, public_note=st.none() | text),
    st.builds(CommentAdded, text=st.text(min_size=1, max_size=200)),
)


@settings(max_examples=150, deadline=None)
@given(
    payload=payloads,
    number=numbers,
    when=times,
    actor_kind=actor_kinds,
)
def test_encode_decode_round_trip(payload, number, when, actor_kind):
    event = envelope(payload, number, when, actor_kind)
    decoded = decode_event(encode_event(event))
    assert decoded == event
    assert encode_event(decoded) == encode_event(event)


@settings(max_examples=150, deadline=None)
@given(
    service_code=codes,
    description=text,
    point=st.none() | st.tuples(lat, long),
    address=st.none() | st.text(min_size=1, max_size=80),
    media=st.none() | st.just("https://e.org/x.png"),
    contact=st.none() | sealed,
    number=numbers,
    when=times,
)
def test_any_v1_submission_upcasts_to_an_equivalent_v2(
    service_code, description, point, address, media, contact, number, when
):
    if point is None and address is None:
        address = "somewhere"
    v1 = ServiceRequestSubmittedV1(
        service_code=service_code,
        description=description,
        lat=point[0] if point else None,
        long=point[1] if point else None,
        address_string=address,
        media_url=media,
        contact=contact,
    )
    event = decode_event(json.loads(encode_event(envelope(v1, number, when, "resident"))))
    p = event.payload
    assert (
        isinstance(p, ServiceRequestSubmitted)
        and event.schema_version == ServiceRequestSubmitted.schema_version
    )
    assert p.language == "en"  # nobody was asked before v3
    assert p.link_source is None  # no link was recorded before v4
    assert (p.service_code, p.description, p.contact) == (service_code, description, contact)
    assert (p.location.lat, p.location.long) == (point if point else (None, None))
    assert p.location.address_string == address
    assert p.media_urls == ([media] if media else [])
