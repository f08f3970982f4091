"""How a resident gets in without a password: a one-time code sent to the contact on file, exchanged for a session.

Pure rules, no IO. A code is six digits, kept only as a keyed digest (HMAC with the deployment's pepper, over the
contact's digest and the code: a plain hash of six digits is read back by trying them all), short-lived, used once,
and dies after a few wrong tries. A new code replaces the contact's previous one. A session is a random bearer token
kept as its SHA-256 (it has 256 bits of entropy: no key is needed to make its digest unguessable).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from civicloop_intake.domain.contact import InvalidContact, normalise_email, normalise_phone

CODE_DIGITS = 6
SESSION_TOKEN_BYTES = 32


class ContactKind(str, enum.Enum):
    email = "email"
    phone = "phone"


@dataclass(frozen=True)
class ResidentContact:
    """A contact as intake stores it at submission (an e-mail normalised, a phone in E.164)."""

    kind: ContactKind
    value: str

    def __repr__(self) -> str:  # never let a stray log line print it
        return f"ResidentContact({self.kind.value}, <redacted>)"


def parse_contact(raw: str, *, default_region: str) -> ResidentContact:
    """An e-mail address when it has an `@`, else a phone number; `InvalidContact` when it is neither."""
    text = raw.strip()
    if "@" in text:
        return ResidentContact(ContactKind.email, normalise_email(text))
    return ResidentContact(ContactKind.phone, normalise_phone(text, default_region=default_region))


def contact_digest(contact: ResidentContact, *, key: bytes) -> bytes:
    """The contact's keyed digest: what codes and limits are stored under, never the contact itself."""
    message = f"resident-contact:{contact.kind.value}:{contact.value.lower()}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(code: str, *, contact: bytes, key: bytes) -> bytes:
    return hmac.new(key, b"resident-code:" + contact + b":" + code.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class PendingCode:
    """The one code a contact may use, as stored."""

    contact_digest: bytes
    resident_id: UUID
    code_digest: bytes
    expires_at: datetime
    wrong_tries: int = 0


def issue_code(
    contact: bytes, resident_id: UUID, *, key: bytes, now: datetime, ttl: timedelta
) -> tuple[str, PendingCode]:
    """A fresh code (to send) and what is kept of it (to store, replacing the contact's earlier code)."""
    code = new_code()
    return code, PendingCode(contact, resident_id, code_digest(code, contact=contact, key=key), now + ttl)


class CodeCheck(str, enum.Enum):
    accepted = "accepted"  # the code is used up: delete it, open a session
    wrong = "wrong"  # keep the code with one more wrong try
    spent = "spent"  # no code, expired, or this try was its last wrong one: delete it


@dataclass(frozen=True)
class CodeVerdict:
    check: CodeCheck
    kept: PendingCode | None = None  # the code to store back (wrong), None to delete it
    resident_id: UUID | None = None  # accepted: whose code it was


def check_code(
    pending: PendingCode | None, given: str, *, key: bytes, now: datetime, max_wrong_tries: int
) -> CodeVerdict:
    """The verdict on `given` for the contact's pending code; the digest is compared in constant time."""
    if pending is None or now >= pending.expires_at or pending.wrong_tries >= max_wrong_tries:
        return CodeVerdict(CodeCheck.spent)
    expected = code_digest(given.strip(), contact=pending.contact_digest, key=key)
    if hmac.compare_digest(expected, pending.code_digest):
        return CodeVerdict(CodeCheck.accepted, resident_id=pending.resident_id)
    tried = replace(pending, wrong_tries=pending.wrong_tries + 1)
    if tried.wrong_tries >= max_wrong_tries:
        return CodeVerdict(CodeCheck.spent)
    return CodeVerdict(CodeCheck.wrong, kept=tried)


@dataclass(frozen=True)
class ResidentSession:
    token_digest: bytes
    resident_id: UUID
    expires_at: datetime


def new_session(resident_id: UUID, *, now: datetime, ttl: timedelta) -> tuple[str, ResidentSession]:
    """A bearer token (to give the resident, once) and what is kept of it."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    return token, ResidentSession(token_digest(token), resident_id, now + ttl)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


__all__ = [
    "CodeCheck",
    "CodeVerdict",
    "ContactKind",
    "InvalidContact",
    "PendingCode",
    "ResidentContact",
    "ResidentSession",
    "check_code",
    "code_digest",
    "contact_digest",
    "issue_code",
    "new_session",
    "parse_contact",
    "token_digest",
]
