"""Which of Twilio's answers refuse a message and which only fail this attempt (pure)."""

from __future__ import annotations

import pytest
from civicloop_channels.message import Outcome
from civicloop_channels.twilio_sms import retry_after_seconds, twilio_error_outcome, twilio_error_text


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 21211), (400, 21610), (400, 21614), (400, 21612), (400, 21408), (400, 63016), (400, 99999)],
)
def test_permanent_errors_about_the_recipient_or_message_refuse(status: int, code: int) -> None:
    assert twilio_error_outcome(status, code) is Outcome.refused


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, 20500), (503, None), (429, 20429), (401, 20003), (400, 21606), (403, None), (404, 404)],
)
def test_outages_throttling_and_our_own_configuration_fail_to_be_tried_again(
    status: int, code: int | None
) -> None:
    assert twilio_error_outcome(status, code) is Outcome.failed


def test_the_error_text_names_status_and_code_in_words() -> None:
    assert twilio_error_text(400, 21610) == "twilio 400 21610: recipient unsubscribed (replied STOP)"
    assert twilio_error_text(502, None) == "twilio 502 -"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("0.5", 0.5), ("-3", 0.0), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)
def test_retry_after_reads_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds
