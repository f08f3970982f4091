"""Passwords: argon2id hashes (argon2-cffi, RFC 9106's parameters) and the rules a new password must meet.

A hash is checked in constant time by argon2 itself. A sign-in for an unknown email still costs one hash check
(`check_password(None, ...)`), so the time an answer takes does not tell which emails have accounts.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12  # NIST SP 800-63B asks at least 8; staff reach exact locations and residents' histories
MAX_LENGTH = 128  # bounds the work one sign-in can ask of the hasher

_HASHER = PasswordHasher(type=Type.ID)  # argon2-cffi's defaults: RFC 9106 low-memory profile, a 16-byte salt
# Checked against when there is no account, so both answers cost the same.
_NO_ACCOUNT_HASH = _HASHER.hash("no account has this password, it only spends the same time")


class PasswordProblem(str, enum.Enum):
    too_short = "too_short"
    too_long = "too_long"
    contains_email = "contains_email"
    one_character = "one_character"


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    rehashed: str | None = None  # a new hash to store when the parameters moved on since this one was made


def _normalised(password: str) -> str:
    """NFKC, as SP 800-63B asks: the same password typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFKC", password)


def password_problems(password: str, *, email: str | None = None) -> list[PasswordProblem]:
    """Why a new password is refused (empty: accepted). Length over composition rules, as SP 800-63B advises."""
    password = _normalised(password)
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(PasswordProblem.too_short)
    if len(password) > MAX_LENGTH:
        problems.append(PasswordProblem.too_long)
    if email and email.split("@", 1)[0].casefold() in password.casefold():
        problems.append(PasswordProblem.contains_email)
    if password and len(set(password)) == 1:
        problems.append(PasswordProblem.one_character)
    return problems


def hash_password(password: str) -> str:
    """An argon2id hash in PHC form (`$argon2id$v=19$m=...`), salt included."""
    return _HASHER.hash(_normalised(password))


def check_password(stored_hash: str | None, password: str) -> PasswordCheck:
    """Does `password` match `stored_hash`? None (no account, or no password: an SSO-only account) never matches,
    at the same cost as a real check."""
    if len(password) > MAX_LENGTH * 4:  # refused before hashing: no sign-in makes the hasher read megabytes
        return PasswordCheck(ok=False)
    candidate = _normalised(password)
    if stored_hash is None:
        _verify(_NO_ACCOUNT_HASH, candidate)
        return PasswordCheck(ok=False)
    if not _verify(stored_hash, candidate):
        return PasswordCheck(ok=False)
    rehashed = _HASHER.hash(candidate) if _HASHER.check_needs_rehash(stored_hash) else None
    return PasswordCheck(ok=True, rehashed=rehashed)


def _verify(stored_hash: str, candidate: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
