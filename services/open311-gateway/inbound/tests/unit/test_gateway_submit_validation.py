"""POST Service Request rules against a service definition (PR-02..PR-08, ER-05)."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute, ServiceType
from civicloop_gateway.domain.submit_errors import BadRequest, NotFound
from civicloop_gateway.domain.submit_validation import (
    ServiceEntry,
    accept_request,
    check_service,
    plain_text,
    require_service_code,
)
from civicloop_open311.forms import OpenForm
from civicloop_testing.open311_catalogue import STREETLIGHT_ATTRIBUTES

SERVICE = ServiceEntry(
    jurisdiction_id="springfield.example.gov",
    service_code="STREETLIGHT",
    type=ServiceType.realtime,
    attributes=tuple(STREETLIGHT_ATTRIBUTES),
)

VALID = [
    ("service_code", "STREETLIGHT"),
    ("lat", "39.78"),
    ("long", "-89.65"),
    ("attribute[POLE_ID]", "SL-1"),
    ("attribute[LAMP_STATE]", "out"),
]


def form(*extra: tuple[str, str], without: tuple[str, ...] = ()) -> OpenForm:
    return OpenForm.parse([p for p in VALID if p[0] not in without] + list(extra))


def rejected(f: OpenForm) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        accept_request(f, SERVICE)
    assert info.value.status == 400
    return info.value


def test_pr02_missing_service_code_is_400() -> None:
    with pytest.raises(BadRequest) as info:
        require_service_code(form(without=("service_code",)))
    assert "service_code" in info.value.descriptions[0]


def test_pr02_unknown_or_withdrawn_service_is_404() -> None:
    with pytest.raises(NotFound) as info:
        check_service("NOPE", None, jurisdiction_id="springfield.example.gov")
    assert info.value.status == 404 and "NOPE" in info.value.descriptions[0]
    withdrawn = ServiceEntry(jurisdiction_id="j", service_code="OLD", active=False)
    with pytest.raises(NotFound):
        check_service("OLD", withdrawn, jurisdiction_id="j")


def test_valid_request_is_accepted_with_a_location() -> None:
    accepted = accept_request(form(("address_string", "742 Evergreen Terrace")), SERVICE)
    assert accepted.location.lat == 39.78 and accepted.location.long == -89.65
    assert accepted.location.address_string == "742 Evergreen Terrace"
    assert accepted.attributes == {"POLE_ID": ["SL-1"], "LAMP_STATE": ["out"]}
    assert accepted.contact is None


def test_pr03_no_location_is_400() -> None:
    error = rejected(form(without=("lat", "long")))
    assert any("location" in d for d in error.descriptions)


def test_pr03_lat_without_long_is_400() -> None:
    error = rejected(form(without=("long",)))
    assert any("long is required when lat is given" in d for d in error.descriptions)


def test_pr03_address_string_or_address_id_alone_is_a_location() -> None:
    assert (
        accept_request(
            form(("address_id", "#NOTPINPOINTED#"), without=("lat", "long")), SERVICE
        ).location.address_id
        == "#NOTPINPOINTED#"
    )
    assert (
        accept_request(
            form(("address_string", "1 Main St"), without=("lat", "long")), SERVICE
        ).location.address_string
        == "1 Main St"
    )


def test_pr03_coordinates_out_of_range_or_not_numbers_are_400() -> None:
    assert any(
        "lat must be between" in d for d in rejected(form(("lat", "91"), without=("lat",))).descriptions
    )
    assert any(
        "long must be a decimal" in d
        for d in rejected(form(("long", "west"), without=("long",))).descriptions
    )


def test_pr05_er05_missing_required_attribute_names_the_code() -> None:
    """PR-05 / ER-05: "HOWMANYD required" style: the description names the missing code."""
    error = rejected(form(without=("attribute[LAMP_STATE]",)))
    assert any("attribute[LAMP_STATE] required" in d for d in error.descriptions)


def test_pr05_all_missing_required_attributes_are_reported_together() -> None:
    error = rejected(form(without=("attribute[LAMP_STATE]", "attribute[POLE_ID]")))
    text = " ".join(error.descriptions)
    assert "attribute[LAMP_STATE]" in text and "attribute[POLE_ID]" in text


def test_pr05_bad_singlevaluelist_key_names_the_code() -> None:
    error = rejected(form(("attribute[LAMP_STATE]", "starfish"), without=("attribute[LAMP_STATE]",)))
    assert any(d.startswith("attribute[LAMP_STATE]") and "starfish" in d for d in error.descriptions)


def test_pr05_singlevaluelist_takes_one_value() -> None:
    error = rejected(form(("attribute[LAMP_STATE]", "flicker")))
    assert any("attribute[LAMP_STATE] takes one value" in d for d in error.descriptions)


def test_pr05_multivaluelist_values_must_be_keys_and_name_the_code() -> None:
    accepted = accept_request(
        form(("attribute[HAZARDS][]", "wires"), ("attribute[HAZARDS][]", "glass")), SERVICE
    )
    assert accepted.attributes["HAZARDS"] == ["glass", "wires"]
    error = rejected(form(("attribute[HAZARDS]", "wires"), ("attribute[HAZARDS]", "lava")))
    assert any(d.startswith("attribute[HAZARDS]") and "lava" in d for d in error.descriptions)


def test_pr05_number_and_datetime_values_are_checked() -> None:
    ok = accept_request(
        form(("attribute[HEIGHT_M]", "7.5"), ("attribute[NOTICED_AT]", "2026-11-20T08:15:30Z")), SERVICE
    )
    assert ok.attributes["HEIGHT_M"] == ["7.5"] and ok.attributes["NOTICED_AT"] == ["2026-11-20T08:15:30Z"]
    error = rejected(form(("attribute[HEIGHT_M]", "tall"), ("attribute[NOTICED_AT]", "last tuesday")))
    text = " ".join(error.descriptions)
    assert "attribute[HEIGHT_M] must be a number" in text
    assert "attribute[NOTICED_AT] must be an ISO 8601 date-time" in text
    assert any("HEIGHT_M" in d for d in rejected(form(("attribute[HEIGHT_M]", "nan"))).descriptions)


def test_pr05_unknown_codes_and_informational_attributes_are_accepted_not_kept() -> None:
    """PR-05: FixMyStreet's `attribute[fixmystreet_id]` passes; SD-03: `variable=false` answers are dropped."""
    accepted = accept_request(
        form(("attribute[fixmystreet_id]", "1234"), ("attribute[SAFETY]", "ok")), SERVICE
    )
    assert "fixmystreet_id" not in accepted.attributes and "SAFETY" not in accepted.attributes


def test_g50_empty_optional_singlevaluelist_is_absent() -> None:
    service = ServiceEntry(
        jurisdiction_id="j",
        service_code="S",
        attributes=(
            ServiceAttribute(
                code="SIDE",
                datatype=AttributeDatatype.singlevaluelist,
                order=1,
                values=[AttributeValue(key="l", name="Left")],
            ),
        ),
    )
    accepted = accept_request(OpenForm.parse([("lat", "1"), ("long", "1"), ("attribute[SIDE]", "")]), service)
    assert accepted.attributes == {}


def test_pr06_description_over_4000_characters_is_400() -> None:
    accept_request(form(("description", "x" * 4000)), SERVICE)
    error = rejected(form(("description", "x" * 4001)))
    assert any("4,000" in d for d in error.descriptions)


def test_pr06_html_is_stripped_line_breaks_kept() -> None:
    assert plain_text("Lamp <b>out</b>\nsince <script>alert(1)</script>Monday") == "Lamp out\nsince Monday"
    assert plain_text("depth < 5 cm and > 2 cm") == "depth < 5 cm and > 2 cm"
    accepted = accept_request(form(("description", "<p>Dark</p>\r\nstreet")), SERVICE)
    assert accepted.description == "Dark\r\nstreet"


def test_pr07_media_urls_are_kept_and_bounded() -> None:
    accepted = accept_request(form(("media_url", "http://x/1.jpg"), ("media_url", "http://x/2.jpg")), SERVICE)
    assert accepted.media_urls == ["http://x/1.jpg", "http://x/2.jpg"]
    error = rejected(form(*[("media_url", f"http://x/{i}.jpg") for i in range(11)]))
    assert any("media_url" in d for d in error.descriptions)


def test_pr08_contact_fields_are_collected_and_optional() -> None:
    accepted = accept_request(
        form(
            ("first_name", "John"),
            ("last_name", "Smith"),
            ("email", "smit333@sfgov.edu"),
            ("phone", "(217) 555-0123"),
            ("device_id", "tt222111"),
            ("account_id", "123456"),
        ),
        SERVICE,
    )
    contact = accepted.contact
    assert contact is not None
    assert contact.name == "John Smith" and contact.email == "smit333@sfgov.edu"
    assert contact.phone == "+12175550123"  # read in the default region (US)
    assert contact.device_id == "tt222111" and contact.account_id == "123456"
    assert "Smith" not in repr(contact)


def test_pr08_unusable_contact_is_refused_without_echoing_it() -> None:
    error = rejected(form(("email", "not-an-address-secret")))
    assert any("email" in d for d in error.descriptions)
    assert not any("secret" in d for d in error.descriptions)
