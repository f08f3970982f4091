"""How many SMS segments a text costs (pure): carriers bill, and phones reassemble, per segment.

A text entirely in the GSM 03.38 alphabet goes 7-bit: 160 characters in one segment, 153 per segment once split (the
extension characters `^{}\\[~]|€` and form feed take two). Any other character (Spanish "á", "í", "ó", "ú", an
emoji) makes the whole text UCS-2: 70 UTF-16 units in one segment, 67 per segment once split. Templates use this to
stay short; note that "ñ", "é", "¿" and "¡" are GSM, but "á" is not.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


class Encoding(str, enum.Enum):
    gsm7 = "gsm7"
    ucs2 = "ucs2"


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def sms_segments(text: str) -> Segments:
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        septets = sum(2 if c in _GSM_EXTENSION else 1 for c in text)
        return Segments(Encoding.gsm7, septets, 1 if septets <= 160 else math.ceil(septets / 153))
    units = len(text.encode("utf-16-le")) // 2
    return Segments(Encoding.ucs2, units, 1 if units <= 70 else math.ceil(units / 67))
