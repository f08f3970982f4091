"""Secrets shown once and stored only as digests: TOTP recovery codes and password-reset tokens.

Both are long random values (80 and 256 bits), so a SHA-256 digest cannot be reversed or guessed from a stolen
table, and a slow hash would add nothing; digests are compared in constant time.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECOVERY_CODES = 10
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"  # no i, l, o, u: nothing to misread on paper
RESET_TOKEN_TTL = timedelta(minutes=30)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# Recovery codes ------------------------------------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes of 16 symbols (80 bits), written `xxxx-xxxx-xxxx-xxxx`: shown once, at enrolment."""
    codes = []
    for _ in range(count):
        symbols = "".join(secrets.choice(_CROCKFORD) for _ in range(16))
        codes.append("-".join(symbols[i : i + 4] for i in range(0, 16, 4)))
    return codes


def _canonical_code(code: str) -> str:
    """As typed: any case, with or without dashes and spaces, the letters people confuse read as the digit."""
    plain = code.strip().lower().replace("-", "").replace(" ", "")
    plain = plain.replace("o", "0").replace("i", "1").replace("l", "1")
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def recovery_code_digest(code: str) -> str:
    return digest(_canonical_code(code))


def use_recovery_code(stored_digests: Sequence[str], code: str) -> list[str] | None:
    """The digests left once `code` is spent (store them), or None when it matches none: each code works once."""
    presented = recovery_code_digest(code)
    matched = [d for d in stored_digests if _same(d, presented)]
    if not matched:
        return None
    return [d for d in stored_digests if not _same(d, presented)]


# Password-reset tokens -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetToken:
    """What the store keeps of a reset link: the token's digest, when it lapses, whether it was used."""

    token_digest: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class ResetVerdict(str, enum.Enum):
    valid = "valid"
    unknown = "unknown"  # no such token (or a typo): the answer to a guess
    expired = "expired"
    used = "used"
    superseded = "superseded"  # a password was set after it was issued (any link older than that is void)


def issue_reset_token(*, now: datetime, ttl: timedelta = RESET_TOKEN_TTL) -> tuple[str, ResetToken]:
    """A new token (256 bits, URL-safe: it goes in the emailed link) and the record to store; the clear token
    goes in the email only."""
    token = secrets.token_urlsafe(32)
    return token, ResetToken(token_digest=digest(token), issued_at=now, expires_at=now + ttl)


def check_reset_token(
    record: ResetToken | None,
    presented: str,
    *,
    now: datetime,
    password_set_at: datetime | None = None,
) -> ResetVerdict:
    """Whether `presented` may set a new password now. The store finds `record` by the presented token's digest;
    this checks it again in constant time, then its life: unused, unexpired, not older than the last password."""
    if record is None or not _same(record.token_digest, digest(presented)):
        return ResetVerdict.unknown
    if record.used_at is not None:
        return ResetVerdict.used
    if now >= record.expires_at:
        return ResetVerdict.expired
    if password_set_at is not None and password_set_at > record.issued_at:
        return ResetVerdict.superseded
    return ResetVerdict.valid


def spend_reset_token(record: ResetToken, *, now: datetime) -> ResetToken:
    """The record once its token has set a password: it never works again."""
    return dataclasses.replace(record, used_at=now)
