"""The pure folds of the Open311 view: requests (SR-xx, ST-01), updates (FX-01, ST-02) and the catalogue (SL-04)."""

from datetime import UTC, datetime, timedelta

from civicloop_events import Actor, Location, ServiceDefined, ServiceRequestSubmitted, StatusChanged
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    AttributeDatatype,
    CommentAdded,
    CommentVisibility,
    LocationMethod,
    LocationResolved,
    PartnerAuthorised,
    RequestStatus,
    ServiceAttribute,
    ServiceType,
)
from civicloop_events.personal_data import SealedPersonalData
from civicloop_gateway.domain.catalogue import partner_key_row, service_row
from civicloop_gateway.domain.request_view import NO_CHANGE, fold
from civicloop_gateway.domain.statuses import citysdk_detailed_status, extended_status, open311_status
from civicloop_places import DEFAULT_RESOLUTION, public_place
from civicloop_testing.events import request_event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AGENT = Actor(kind=ActorKind.agent, id="agent-7")


def _event(payload, *, at: datetime, request_id: str | None = "ABCD-1234", source: str = "web"):
    city = "springfield.example.gov"
    return request_event(
        payload, request_id=request_id, actor=AGENT, source=source, jurisdiction_id=city, occurred_at=at
    )


def _submitted(**overrides):
    values = {
        "service_code": "POTHOLE",
        "description": "Deep hole",
        "location": Location(lat=38.9, long=-77.0, address_string="1 Main St, Apt 4", address_id="A-17"),
        "media_urls": ["https://img.example/1.jpg", "https://img.example/2.jpg"],
    }
    return ServiceRequestSubmitted(**{**values, **overrides})


def test_ST_01_only_closed_is_closed():
    assert [open311_status(s) for s in RequestStatus] == ["open", "open", "open", "open", "closed"]


def test_ST_02_extended_statuses_are_lower_case_and_reopen_is_named():
    assert extended_status(RequestStatus.acknowledged) == "investigating"
    assert extended_status(RequestStatus.in_progress) == "in_progress"
    assert extended_status(RequestStatus.open, previous=RequestStatus.closed) == "reopen"
    assert extended_status(RequestStatus.closed, previous=RequestStatus.closed) == "closed"
    assert all(extended_status(s) == extended_status(s).lower() for s in RequestStatus)


def test_ST_03_detailed_status_is_citysdk():
    assert citysdk_detailed_status(RequestStatus.closed) == "PROCESSED"
    assert citysdk_detailed_status(RequestStatus.in_progress) == "IN_PROCESS"


def test_SR_01_to_SR_17_a_submission_becomes_an_open_request_with_its_place_and_first_media():
    change = fold(None, _event(_submitted(), at=T0), service_name="Pothole")
    row = change.request
    assert change.update is None
    assert (row.service_request_id, row.status, row.civicloop_status) == (
        "ABCD-1234",
        "open",
        RequestStatus.open,
    )
    assert (row.service_code, row.service_name, row.description) == ("POTHOLE", "Pothole", "Deep hole")
    public = public_place(38.9, -77.0, "1 Main St, Apt 4")
    assert (row.address, row.address_id, row.lat, row.long) == (
        "0 block of Main St",
        "A-17",
        public.lat,
        public.long,
    )
    assert (row.h3_cell, row.h3_resolution) == (public.h3_cell, DEFAULT_RESOLUTION)
    # The radius search runs on the public point too: the exact point is not kept anywhere in the view.
    assert (row.point_lat, row.point_long) == (public.lat, public.long)
    assert row.media_url == "https://img.example/1.jpg" and len(row.media_urls) == 2
    assert row.requested_datetime == row.updated_datetime == T0
    assert row.status_notes is None and row.expected_datetime is None and row.zipcode is None


def test_SR_21_the_contact_never_reaches_the_row():
    sealed = SealedPersonalData(
        resident_id="0190c1a2-0000-7000-8000-000000000001", nonce="bm9uY2U=", ciphertext="c2VjcmV0"
    )
    row = fold(None, _event(_submitted(contact=sealed), at=T0)).request
    assert "contact" not in row.__dataclass_fields__
    assert "c2VjcmV0" not in repr(row)


def test_SR_10_status_changes_bump_updated_and_closing_sets_the_close_time():
    row = fold(None, _event(_submitted(), at=T0)).request
    ack = fold(
        row,
        _event(
            StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), at=T0 + timedelta(hours=1)
        ),
    )
    assert ack.request.status == "open" and ack.request.status_notes == "Seen"
    assert ack.request.updated_datetime == T0 + timedelta(hours=1)
    assert ack.update.status == "investigating" and ack.update.description == "Seen"
    assert ack.update.external_status_code == "acknowledged"
    closed = fold(
        ack.request,
        _event(
            StatusChanged(status=RequestStatus.closed, public_note="Filled", external_status_code="FIXED-3"),
            at=T0 + timedelta(days=2),
        ),
    )
    assert (closed.request.status, closed.request.status_notes) == ("closed", "Filled")
    assert closed.request.updated_datetime == T0 + timedelta(days=2)
    assert (closed.update.status, closed.update.external_status_code) == ("closed", "FIXED-3")
    assert closed.update.update_id == closed.request.last_event_id


def test_FX_01_public_comments_are_updates_internal_ones_are_nothing():
    row = fold(None, _event(_submitted(), at=T0)).request
    internal = fold(
        row,
        _event(
            CommentAdded(text="caller is rude", visibility=CommentVisibility.internal),
            at=T0 + timedelta(hours=2),
        ),
    )
    assert internal.request is None and internal.update is None
    public = fold(
        row,
        _event(
            CommentAdded(
                text="Crew booked",
                visibility=CommentVisibility.public,
                media_urls=["https://img.example/c.jpg"],
            ),
            at=T0 + timedelta(hours=3),
        ),
    )
    assert public.update.description == "Crew booked" and public.update.status == "open"
    assert public.update.media_url == "https://img.example/c.jpg"
    assert public.request.updated_datetime == T0 + timedelta(hours=3)


def test_SR_10_a_comment_after_closing_keeps_the_close_time():
    row = fold(None, _event(_submitted(), at=T0)).request
    closed = fold(row, _event(StatusChanged(status=RequestStatus.closed), at=T0 + timedelta(days=1))).request
    later = fold(
        closed,
        _event(CommentAdded(text="Thanks!", visibility=CommentVisibility.public), at=T0 + timedelta(days=3)),
    )
    assert later.request.updated_datetime == T0 + timedelta(days=1)
    assert later.update.status == "closed"


def test_a_second_submission_never_resets_a_request():
    row = fold(None, _event(_submitted(), at=T0)).request
    closed = fold(row, _event(StatusChanged(status=RequestStatus.closed), at=T0 + timedelta(days=1))).request
    again = fold(closed, _event(_submitted(description="again"), at=T0 + timedelta(days=2)))
    assert again.request is None and again.update is None


def test_FX_01_a_status_change_of_an_unseen_request_is_still_an_update():
    change = fold(None, _event(StatusChanged(status=RequestStatus.in_progress), at=T0))
    assert change.request is None
    assert change.update.status == "in_progress" and change.update.service_request_id == "ABCD-1234"


# -- the public place (DESIGN §4: public outputs never show where a resident is) ---------------------------------


def _resolved(lat: float, long: float, address: str | None, *, resolution: int = 9) -> LocationResolved:
    return LocationResolved(
        lat=lat,
        long=long,
        address=address,
        method=LocationMethod.geocoded,
        provider="gazetteer",
        confidence=0.9,
        inside_jurisdiction=True,
        public=public_place(lat, long, address, resolution=resolution),
    )


def test_SR_15_the_public_point_is_the_cell_centre_at_the_configured_resolution():
    row = fold(None, _event(_submitted(), at=T0), resolution=7).request
    coarse = public_place(38.9, -77.0, resolution=7)
    assert (row.lat, row.long, row.h3_cell, row.h3_resolution) == (coarse.lat, coarse.long, coarse.h3_cell, 7)
    assert (row.lat, row.long) != (38.9, -77.0) and (row.point_lat, row.point_long) == (
        coarse.lat,
        coarse.long,
    )


def test_SR_12_an_address_only_request_shows_its_block_and_no_point():
    row = fold(
        None, _event(_submitted(location=Location(address_string="2111 W Bellevue Ave #3")), at=T0)
    ).request
    assert (row.address, row.lat, row.long, row.h3_cell) == ("2100 block of W Bellevue Ave", None, None, None)
    assert (row.point_lat, row.point_long) == (None, None)
    free_text = fold(
        None, _event(_submitted(location=Location(address_string="behind my house, ask for Jane")), at=T0)
    ).request
    assert free_text.address is None  # a free-form address could name a person or a home


def test_location_resolved_gives_the_public_place_to_show_and_to_search():
    row = fold(
        None, _event(_submitted(location=Location(address_string="2111 W Bellevue Ave")), at=T0)
    ).request
    geo = _resolved(34.073216645, -118.266861909, "2111 W BELLEVUE AVE, LOS ANGELES", resolution=8)
    resolved = _event(geo, at=T0 + timedelta(minutes=1))
    change = fold(row, resolved)
    placed = change.request
    assert change.update is None  # not a servicerequestupdate: status and comments only (FX-01)
    assert (
        (placed.point_lat, placed.point_long)
        == (geo.public.lat, geo.public.long)
        != (34.073216645, -118.266861909)
    )
    assert (placed.lat, placed.long, placed.address) == (geo.public.lat, geo.public.long, geo.public.address)
    assert placed.address == "2100 block of W BELLEVUE AVE, LOS ANGELES"
    assert (placed.h3_cell, placed.h3_resolution) == (geo.public.h3_cell, 8)
    assert placed.updated_datetime == T0 + timedelta(minutes=1)  # SR-10: what partners see changed
    assert placed.last_event_id == resolved.event_id and placed.status == "open"


def test_location_resolved_on_a_closed_request_keeps_its_close_time_and_an_unseen_one_is_nothing():
    row = fold(None, _event(_submitted(), at=T0)).request
    closed = fold(row, _event(StatusChanged(status=RequestStatus.closed), at=T0 + timedelta(days=1))).request
    later = fold(closed, _event(_resolved(38.95, -77.05, None), at=T0 + timedelta(days=2))).request
    assert later.updated_datetime == T0 + timedelta(days=1) and later.status == "closed"
    assert (later.lat, later.point_lat, later.address) == (public_place(38.95, -77.05).lat,) * 2 + (None,)
    assert fold(None, _event(_resolved(38.95, -77.05, None), at=T0)) == NO_CHANGE


def test_SL_04_metadata_follows_the_attributes_and_keywords_are_comma_separated():
    plain = service_row(
        _event(
            ServiceDefined(
                service_code="POTHOLE", service_name="Pothole", keywords=["road", " hole "], group="streets"
            ),
            at=T0,
            request_id=None,
        )
    )
    assert (plain.metadata, plain.keywords, plain.group, plain.type) == (
        False,
        "road, hole",
        "streets",
        "realtime",
    )
    defined = service_row(
        _event(
            ServiceDefined(
                service_code="LIGHT",
                service_name="Streetlight",
                type=ServiceType.batch,
                attributes=[ServiceAttribute(code="POLE", datatype=AttributeDatatype.string, required=True)],
            ),
            at=T0,
            request_id=None,
        )
    )
    assert defined.metadata is True and defined.attributes[0]["code"] == "POLE" and defined.type == "batch"


def test_partner_keys_carry_only_the_digest():
    row = partner_key_row(
        _event(
            PartnerAuthorised(client_id="fixmystreet", name="FixMyStreet", key_id="k1", key_sha256="a" * 64),
            at=T0,
            request_id=None,
        )
    )
    assert (row.client_id, row.key_id, row.key_sha256, row.authorised_at) == (
        "fixmystreet",
        "k1",
        "a" * 64,
        T0,
    )


def test_free_text_the_gets_show_is_kept_without_phones_or_emails():
    """What a resident or an agent typed is public in Open311: its phones and emails are replaced by markers in the
    description, the status notes and every update (the rest, a house number too, is kept as typed)."""
    typed = "Ring Jane at (410) 555-0134 or jane.doe@example.org; crew 7 is on the way to 2111 Pennington Ave"
    shown = "Ring Jane at [phone removed] or [email removed]; crew 7 is on the way to 2111 Pennington Ave"
    row = fold(None, _event(_submitted(description=typed), at=T0)).request
    assert row.description == shown
    commented = fold(
        row,
        _event(CommentAdded(text=typed, visibility=CommentVisibility.public), at=T0 + timedelta(minutes=1)),
    )
    assert (commented.request.status_notes, commented.update.description) == (shown, shown)
    closed = fold(
        commented.request,
        _event(
            StatusChanged(status=RequestStatus.closed, reason="fixed", public_note=typed),
            at=T0 + timedelta(minutes=2),
        ),
    )
    assert (closed.request.status_notes, closed.update.description) == (shown, shown)
    for change in (row, commented, closed):
        assert "555" not in repr(change) and "@" not in repr(change)
