"""What a resident reads with a one-time code, and in which language (`domain.code_texts`)."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_channels.sms_segments import sms_segments
from civicloop_intake.domain.code_texts import TEXTS, code_language, email_letter, minutes_left, sms_text


@pytest.mark.parametrize(
    ("requested", "accept_language", "chosen"),
    [
        ("es", None, "es"),
        ("es-MX", "en-US", "es"),  # the page's choice beats the browser's
        ("EN", "es", "en"),
        ("fr", "es-US,es;q=0.9", "es"),  # a language we do not write: the browser's next
        (None, "fr-CA, es;q=0.8, en;q=0.7", "es"),
        (None, "en;q=0.5, es-419;q=0.9", "es"),  # by quality, not by position
        (None, "es;q=0, en", "en"),  # q=0 means "not this one"
        (None, "es;q=abc, *", "en"),  # unreadable parts are skipped
        (None, "de, fr", "en"),
        (None, None, "en"),
        (None, "", "en"),
    ],
)
def test_the_language_is_the_pages_then_the_browsers_then_english(requested, accept_language, chosen):
    assert code_language(requested, accept_language) == chosen


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_an_sms_holds_the_code_and_its_minutes_in_one_segment(language):
    text = sms_text("482913", language, 10)
    assert "482913" in text and "10" in text
    assert sms_segments(text).count == 1


def test_spanish_is_written_in_spanish():
    assert "su código es 482913" in sms_text("482913", "es", 10)
    letter = email_letter("482913", "es", 10)
    assert "482913" in letter.text and "minutos" in letter.text and "código" in letter.subject
    assert "482913" not in letter.subject  # a subject shows on a lock screen and in every list of mail


def test_english_is_the_default_for_a_language_we_do_not_write():
    assert sms_text("482913", "fr", 10) == sms_text("482913", "en", 10)
    assert email_letter("482913", "fr", 10) == email_letter("482913", "en", 10)


def test_minutes_left_round_up_and_never_say_zero():
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert minutes_left(now + timedelta(seconds=600), now) == 10
    assert minutes_left(now + timedelta(seconds=599.5), now) == 10
    assert minutes_left(now + timedelta(seconds=601), now) == 11
    assert minutes_left(now, now) == 1
