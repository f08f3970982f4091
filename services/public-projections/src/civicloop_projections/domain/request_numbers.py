"""Request numbers as agents type them: Crockford base32 `XXXX-XXXX`, case, spaces and hyphens ignored."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
# Crockford's decoding rules: what a person may type or hear instead.
_ALIASES = {"O": "0", "I": "1", "L": "1"}


class InvalidRequestNumber(ValueError):
    """Text that cannot be a request number."""


def canonical_request_number(text: str) -> str:
    compact = "".join(_ALIASES.get(ch, ch) for ch in text.upper() if ch not in " -")
    if len(compact) != LENGTH or any(ch not in ALPHABET for ch in compact):
        raise InvalidRequestNumber(f"not a request number: {text!r} (expected XXXX-XXXX in Crockford base32)")
    return compact[:4] + "-" + compact[4:]
