import pytest
from civicloop_events.payloads import Channel
from civicloop_intake.domain.contact import (
    InvalidContact,
    can_receive_messages,
    normalise_email,
    normalise_phone,
    unreachable_reason,
)


@pytest.mark.parametrize(
    "raw",
    ["(202) 555-0143", "202-555-0143", "202.555.0143", "+1 202 555 0143", "1 (202) 555-0143", "+12025550143"],
)
def test_us_notations_normalise_to_e164(raw):
    assert normalise_phone(raw, default_region="US") == "+12025550143"


def test_a_number_without_country_code_is_read_in_the_default_region():
    assert normalise_phone("030 1234567", default_region="DE") == "+49301234567"
    assert normalise_phone("+44 20 7946 0958", default_region="US") == "+442079460958"


@pytest.mark.parametrize("raw", ["hello", "12", "+1 000 000 0000", "555-0143"])
def test_invalid_phone_numbers_are_refused_without_echoing_them(raw):
    with pytest.raises(InvalidContact) as err:
        normalise_phone(raw, default_region="US")
    assert raw not in str(err.value)


def test_email_domain_is_lower_cased_and_spaces_trimmed():
    assert normalise_email("  Ana.Lopez@Example.ORG ") == "Ana.Lopez@example.org"


@pytest.mark.parametrize("raw", ["ana", "ana@", "@example.org", "ana@@example.org", "ana lopez@example.org"])
def test_invalid_email_addresses_are_refused(raw):
    with pytest.raises(InvalidContact):
        normalise_email(raw)


def test_landlines_cannot_receive_messages():
    assert not can_receive_messages("+442079460958")  # a London landline
    assert can_receive_messages("+447700900123")  # a UK mobile


@pytest.mark.parametrize(
    ("channel", "phone", "email", "reachable"),
    [
        (Channel.none, None, None, True),
        (Channel.sms, "+12025550143", None, True),
        (Channel.sms, None, "a@example.org", False),
        (Channel.whatsapp, None, None, False),
        (Channel.whatsapp, "+442079460958", None, False),
        (Channel.email, "+12025550143", None, False),
        (Channel.email, None, "a@example.org", True),
        (Channel.push, None, None, False),
        (Channel.push, None, "a@example.org", True),
    ],
)
def test_channels_need_the_matching_contact(channel, phone, email, reachable):
    assert (unreachable_reason(channel, phone=phone, email=email) is None) is reachable
