"""Partner API keys: 256-bit random secrets with a public id in front, kept only as SHA-256 digests.

A key reads `o311_<key_id>_<secret>`: the key id (8 lower-case base32 characters) is public and shown in
listings so an operator can tell keys apart; the secret is 32 random bytes, URL-safe base64. A plain SHA-256 is
enough for a 256-bit random secret (nothing to guess, so no slow hash is needed), and lets a key be found by its
digest with one index lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "o311"
SECRET_BYTES = 32  # 256 bits
KEY_ID_PATTERN = re.compile(r"^[a-z2-7]{8}$")
CLIENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")  # as PartnerAuthorised requires
_KEY_PATTERN = re.compile(rf"^{KEY_PREFIX}_([a-z2-7]{{8}})_[A-Za-z0-9_-]{{43}}$")


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    key: str  # shown once, to whoever created it; never stored, logged or published
    key_sha256: str

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key_id!r}, key=<secret>)"

    __str__ = __repr__


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key_id() -> str:
    return base64.b32encode(secrets.token_bytes(5)).decode().lower()


def issue_key() -> IssuedKey:
    key_id = new_key_id()
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return IssuedKey(key_id=key_id, key=key, key_sha256=key_digest(key))


def key_id_of(key: str) -> str | None:
    """The public id at the front of a well-formed key, or None."""
    match = _KEY_PATTERN.match(key)
    return match.group(1) if match else None


def digest_matches(key: str, key_sha256: str) -> bool:
    return hmac.compare_digest(key_digest(key), key_sha256)


def check_client_id(client_id: str) -> str:
    if not CLIENT_ID_PATTERN.match(client_id):
        raise ValueError("a client id is 1-64 of a-z 0-9 _ . - and starts with a letter or digit")
    return client_id
