"""Request numbers: short, read aloud over the phone, unique without a central counter.

40 random bits written in Crockford base32 (no I, L, O, U: nothing to mistake for 1, 0 or a word) as `XXXX-XXXX`.
With a million requests on record, a new draw hits an existing number about once in a million draws; the unique
index on intake's submissions table catches it and the caller draws again. The number is the envelope's
`request_id`, the Kafka key and the Open311 `service_request_id`, so its format belongs to the contract.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BITS = 40
LENGTH = BITS // 5
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# What a person may type or hear instead (Crockford's decoding rules).
_ALIASES = {"O": "0", "I": "1", "L": "1"}


class InvalidRequestNumber(ValueError):
    """Text that cannot be a request number."""


def encode(value: int) -> str:
    """40 bits -> `XXXX-XXXX`."""
    if not 0 <= value < 1 << BITS:
        raise ValueError(f"a request number holds {BITS} bits")
    chars = [ALPHABET[(value >> shift) & 31] for shift in range(BITS - 5, -1, -5)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def decode(number: str) -> int:
    value = 0
    for ch in parse(number).replace("-", ""):
        value = (value << 5) | _VALUE[ch]
    return value


def new_request_number(randbits: Callable[[int], int] = secrets.randbits) -> str:
    return encode(randbits(BITS))


def parse(text: str) -> str:
    """Canonical form of what a resident typed: case, spaces and hyphens ignored; O -> 0, I and L -> 1."""
    compact = "".join(ch for ch in text.upper() if ch not in " -")
    compact = "".join(_ALIASES.get(ch, ch) for ch in compact)
    if len(compact) != LENGTH or any(ch not in _VALUE for ch in compact):
        raise InvalidRequestNumber(f"not a request number: {text!r}")
    return compact[:4] + "-" + compact[4:]
