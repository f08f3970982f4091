"""Segments a text costs (pure)."""

from __future__ import annotations

import pytest
from civicloop_channels.sms_keywords import KeywordAction, Program, keyword_reply
from civicloop_channels.sms_segments import Encoding, Segments, sms_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", Encoding.gsm7, 0, 1),
        ("x" * 160, Encoding.gsm7, 160, 1),
        ("x" * 161, Encoding.gsm7, 161, 2),
        ("x" * 306, Encoding.gsm7, 306, 2),
        ("x" * 307, Encoding.gsm7, 307, 3),
        ("€" * 80, Encoding.gsm7, 160, 1),
        ("[" * 81, Encoding.gsm7, 162, 2),
        ("¿Señor? ¡Sí! é", Encoding.ucs2, 14, 1),  # "í" is not GSM
        ("¿Señor? ¡Muy bien! é", Encoding.gsm7, 20, 1),
        ("á" * 70, Encoding.ucs2, 70, 1),
        ("á" * 71, Encoding.ucs2, 71, 2),
        ("á" * 134, Encoding.ucs2, 134, 2),
        ("á" * 135, Encoding.ucs2, 135, 3),
        ("🚧" * 35, Encoding.ucs2, 70, 1),  # outside the BMP: two UTF-16 units each
    ],
    ids=lambda value: value if isinstance(value, int | Encoding) else None,
)
def test_segments(text: str, encoding: Encoding, units: int, count: int) -> None:
    assert sms_segments(text) == Segments(encoding, units, count)


def test_every_keyword_reply_is_7_bit_in_two_segments_at_most() -> None:
    program = Program(name="City of Springfield 311", help_contact="springfield.example/311")
    for action in KeywordAction:
        for language in ("en", "es"):
            segments = sms_segments(keyword_reply(action, language, program))
            assert segments.encoding is Encoding.gsm7 and segments.count <= 2, (action, language, segments)
