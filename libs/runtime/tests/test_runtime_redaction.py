"""The one redaction point: URLs lose their query, fragment and credentials; secrets' values are replaced."""

from __future__ import annotations

import logging

import pytest
from civicloop_runtime.redaction import (
    REDACTED,
    RedactingFilter,
    redact_attributes,
    redact_text,
    redact_value,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://geo.example/v1/search?text=2111+W+Bellevue&api_key=k1",
            "GET https://geo.example/v1/search?[redacted]",
        ),
        ("http://user:hunter2@db.example:5432/x", "http://db.example:5432/x"),
        ("see https://a.example/p#token=abc", "see https://a.example/p?[redacted]"),
        ("retry with api_key=abc123 and token: xyz", "retry with api_key=[redacted] and token: [redacted]"),
        ('{"password": "s3cret", "name": "ok"}', '{"password": "[redacted]", "name": "ok"}'),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9", "Authorization: [redacted]"),
        ("sent Bearer eyJhbGciOiJIUzI1NiJ9 along", "sent Bearer [redacted] along"),
        ("nothing to hide at /api/v1/requests", "nothing to hide at /api/v1/requests"),
    ],
)
def test_redact_text(text, expected):
    assert redact_text(text) == expected


def test_fields_named_for_a_secret_are_replaced_whole_and_others_scrubbed():
    assert redact_value("api_key", "k1") == REDACTED
    assert redact_value("X-Api-Key", "k1") == REDACTED
    assert redact_value("url", "http://a/b?c=d") == "http://a/b?[redacted]"
    assert redact_value("headers", {"authorization": "Basic abc", "accept": "json"}) == {
        "authorization": REDACTED,
        "accept": "json",
    }
    assert redact_value("count", 3) == 3


def test_span_attributes_lose_their_query_wherever_it_sits():
    attributes = {
        "http.target": "/api/v1/track?number=A&phone=2025550143",
        "http.url": "http://intake/api/v1/track?number=A&phone=2025550143",
        "url.query": "number=A&phone=2025550143",
        "http.route": "/api/v1/track",
        "http.status_code": 200,
    }
    assert redact_attributes(attributes) == {
        "http.target": "/api/v1/track",
        "http.url": "http://intake/api/v1/track?[redacted]",
        "url.query": REDACTED,
        "http.route": "/api/v1/track",
        "http.status_code": 200,
    }


def test_the_log_filter_scrubs_message_arguments_extra_fields_and_traceback():
    try:
        raise ValueError("Client error for url 'https://geo.example/search?q=1+Main+St'")
    except ValueError:
        record = logging.LogRecord(
            "httpx", logging.INFO, __file__, 1, "GET %s", ("https://x/y?api_key=k",), None
        )
        record.exc_info = __import__("sys").exc_info()
    record.api_key = "k"
    record.target = "https://x/y?q=1+Main+St"
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "GET https://x/y?[redacted]"
    assert (record.api_key, record.target) == (REDACTED, "https://x/y?[redacted]")
    assert record.exc_info is None
    assert "Main" not in record.exc_text and "ValueError" in record.exc_text
