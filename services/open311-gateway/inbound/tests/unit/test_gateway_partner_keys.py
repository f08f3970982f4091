"""Partner API keys (G-70): 256-bit random, a public key id in front, stored and published as SHA-256 only."""

from __future__ import annotations

import base64
import hashlib

import pytest
from civicloop_gateway.domain.partner_keys import (
    KEY_ID_PATTERN,
    check_client_id,
    digest_matches,
    issue_key,
    key_digest,
    key_id_of,
)


def test_g70_key_is_256_bit_random_with_public_key_id_prefix() -> None:
    issued = issue_key()
    prefix, key_id, secret = issued.key.split("_", 2)
    assert prefix == "o311" and key_id == issued.key_id and KEY_ID_PATTERN.match(key_id)
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert issue_key().key != issued.key
    assert key_id_of(issued.key) == issued.key_id


def test_g70_only_the_sha256_digest_is_kept() -> None:
    issued = issue_key()
    assert issued.key_sha256 == hashlib.sha256(issued.key.encode()).hexdigest()
    assert key_digest(issued.key) == issued.key_sha256
    assert digest_matches(issued.key, issued.key_sha256)
    assert not digest_matches(issued.key + "x", issued.key_sha256)
    assert issued.key not in repr(issued) and issued.key not in str(issued)


def test_malformed_keys_have_no_key_id() -> None:
    assert key_id_of("xyz") is None
    assert key_id_of("o311_ABCDEFGH_" + "a" * 43) is None


def test_client_ids_follow_the_event_contract() -> None:
    assert check_client_id("fixmystreet.uk") == "fixmystreet.uk"
    for bad in ("", "Upper", "-leading", "space here", "x" * 65):
        with pytest.raises(ValueError, match="a client id is 1-64"):
            check_client_id(bad)
