import pytest
from civicloop_events.payloads import AttributeDatatype, AttributeValue, Channel, ServiceAttribute
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.validation import InvalidSubmission, check_submission
from pydantic import ValidationError

POTHOLE = CatalogueEntry(
    jurisdiction_id="demo",
    service_code="pothole",
    service_name="Pothole",
    active=True,
    attributes=(
        ServiceAttribute(
            code="depth",
            datatype=AttributeDatatype.singlevaluelist,
            required=True,
            values=[AttributeValue(key="shallow", name="Shallow"), AttributeValue(key="deep", name="Deep")],
        ),
        ServiceAttribute(code="lanes", datatype=AttributeDatatype.number),
        ServiceAttribute(code="note", variable=False, datatype=AttributeDatatype.text),
    ),
)
BASE = {
    "service_code": "pothole",
    "description": "Deep hole",
    "lat": 38.9,
    "long": -77.0,
    "attributes": {"depth": ["deep"]},
}


def check(service=POTHOLE, **changes):
    cmd = SubmitServiceRequest.model_validate({**BASE, **changes})
    return check_submission(cmd, jurisdiction_id="demo", service=service, default_region="US")


def locs(err: InvalidSubmission) -> list[tuple]:
    return [e.loc for e in err.value.errors]


def test_a_valid_submission_is_normalised():
    accepted = check(
        contact={"name": " Ana ", "email": "Ana@Example.ORG", "phone": "(202) 555-0143"},
        preferred_channel="sms",
        address_string="1 Main St",
        media_url="https://example.org/p.jpg",
    )
    assert accepted.contact.phone == "+12025550143"
    assert accepted.contact.email == "Ana@example.org"
    assert accepted.contact.name == "Ana"
    assert accepted.location.lat == 38.9 and accepted.location.address_string == "1 Main St"
    assert accepted.media_urls == ["https://example.org/p.jpg"]
    assert accepted.preferred_channel is Channel.sms


def test_an_address_alone_is_a_location():
    assert check(lat=None, long=None, address_string="1 Main St").location.has_point is False


def test_unknown_service_code_is_a_service_code_error():
    with pytest.raises(InvalidSubmission) as err:
        check(service=None)
    assert locs(err) == [("body", "service_code")]
    assert err.value.errors[0].type == "unknown_service_code"


def test_inactive_service_is_refused():
    with pytest.raises(InvalidSubmission) as err:
        check(service=CatalogueEntry("demo", "pothole", "Pothole", active=False))
    assert err.value.errors[0].type == "inactive_service_code"


def test_every_broken_rule_is_reported_at_once():
    with pytest.raises(InvalidSubmission) as err:
        check(service=None, lat=None, long=-77.0, contact={"phone": "123", "email": "nope"})
    assert set(locs(err)) == {
        ("body", "service_code"),
        ("body", "lat"),
        ("body", "contact", "phone"),
        ("body", "contact", "email"),
    }


def test_missing_location_names_both_ways_to_give_one():
    with pytest.raises(InvalidSubmission) as err:
        check(lat=None, long=None)
    assert locs(err) == [("body", "lat"), ("body", "address_string")]


def test_lat_needs_long():
    with pytest.raises(InvalidSubmission) as err:
        check(long=None)
    assert locs(err) == [("body", "long")]


@pytest.mark.parametrize(
    ("channel", "contact"),
    [
        ("sms", None),
        ("sms", {"email": "a@example.org"}),
        ("whatsapp", {"name": "Ana"}),
        ("email", {"phone": "+12025550143"}),
        ("push", {"name": "Ana"}),
        ("sms", {"phone": "+44 20 7946 0958"}),
    ],
)
def test_preferred_channel_must_reach_the_resident(channel, contact):
    with pytest.raises(InvalidSubmission) as err:
        check(preferred_channel=channel, contact=contact)
    assert locs(err) == [("body", "preferred_channel")]
    assert channel in err.value.errors[0].msg


@pytest.mark.parametrize(
    ("attributes", "loc"),
    [
        ({"depth": ["bottomless"]}, ("body", "attributes", "depth")),
        ({"depth": ["deep", "shallow"]}, ("body", "attributes", "depth")),
        ({"depth": ["deep"], "colour": ["red"]}, ("body", "attributes", "colour")),
        ({"depth": ["deep"], "note": ["x"]}, ("body", "attributes", "note")),
        ({"depth": ["deep"], "lanes": ["two"]}, ("body", "attributes", "lanes")),
    ],
)
def test_attributes_follow_the_service_definition(attributes, loc):
    with pytest.raises(InvalidSubmission) as err:
        check(attributes=attributes)
    assert locs(err) == [loc]


def test_a_missing_required_answer_does_not_lose_the_report():
    assert check(attributes={}).attributes == {}


def test_an_empty_contact_is_no_contact():
    assert check(contact={}).contact is None


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"service_code": ""}, ("service_code",)),
        ({"description": "   "}, ("description",)),
        ({"lat": 91}, ("lat",)),
        ({"media_url": "ftp://example.org/x"}, ("media_url",)),
        ({"preferred_channel": "pigeon"}, ("preferred_channel",)),
        ({"source": "Fax!"}, ("source",)),  # neither a channel word nor a link's slug
        ({"contact": {"phone": "+1202", "fax": "1"}}, ("contact", "fax")),
        ({"surprise": 1}, ("surprise",)),
    ],
)
def test_shape_errors_name_the_field(changes, loc):
    with pytest.raises(ValidationError) as err:
        SubmitServiceRequest.model_validate({**BASE, **changes})
    assert [e["loc"] for e in err.value.errors()] == [loc]


def test_contact_details_stay_out_of_reprs():
    cmd = SubmitServiceRequest.model_validate(
        {**BASE, "contact": {"name": "Ana Lopez", "phone": "2025550143"}}
    )
    assert "Ana" not in repr(cmd) and "2025550143" not in repr(cmd)


@pytest.mark.parametrize("language", ["", "Spanish", "es_ES", "e", "es-" + "x" * 40])
def test_a_language_is_a_bcp47_tag(language):
    with pytest.raises(ValidationError):
        check(language=language)


def test_a_language_tag_is_kept():
    assert check(language="es-US").language == "es-US"
