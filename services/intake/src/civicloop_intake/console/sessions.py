"""Console sessions in intake's database (`intake.console_sessions`): the browser holds only an opaque random id in
an HttpOnly cookie; the row, found by the id's SHA-256, holds the staff access token and the session's CSRF token.

The token is sealed (AES-GCM) under a key derived from the session id, which only the browser holds: a copy of the
table, or someone reading it, has no token to call the API with. A row that does not open is no session.

A session lasts as long as its token (15 minutes): it is not renewed, so signing out elsewhere, a disabled account
or a changed role takes effect at the latest when the token would have expired anyway. Signing out deletes the row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg_pool import AsyncConnectionPool

_SEALED = "v1."  # the sealed token's prefix: nonce and ciphertext, base64url


@dataclass(frozen=True)
class ConsoleSession:
    staff_id: UUID
    access_token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    expires_at: datetime

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf_token.encode())


def _key(session_id: str) -> bytes:
    """The row's key: the id's SHA-256."""
    return hashlib.sha256(session_id.encode()).digest()


def _sealing_key(session_id: str) -> bytes:
    """The token's key: another derivation of the id, so the row's key says nothing of it."""
    return hmac.new(session_id.encode(), b"civicloop console session token", hashlib.sha256).digest()


def seal_token(session_id: str, access_token: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_sealing_key(session_id)).encrypt(nonce, access_token.encode(), _key(session_id))
    return _SEALED + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_token(session_id: str, stored: str) -> str | None:
    """The token `seal_token` sealed for this session; None when it is not one (another session's, altered)."""
    if not stored.startswith(_SEALED):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(_SEALED))
        opened = AESGCM(_sealing_key(session_id)).decrypt(raw[:12], raw[12:], _key(session_id))
    except (InvalidTag, ValueError):
        return None
    return opened.decode()


async def open_session(
    pool: AsyncConnectionPool, *, staff_id: UUID, access_token: str, expires_in_s: int, now: datetime
) -> str:
    """A new session's id (for the cookie); expired sessions are cleared on the way."""
    session_id = secrets.token_urlsafe(32)
    async with pool.connection() as conn:
        await conn.execute("delete from intake.console_sessions where expires_at <= %s", (now,))
        await conn.execute(
            "insert into intake.console_sessions (session_hash, staff_id, access_token, csrf_token, expires_at)"
            " values (%s, %s, %s, %s, %s)",
            (
                _key(session_id),
                staff_id,
                seal_token(session_id, access_token),
                secrets.token_urlsafe(32),
                now + timedelta(seconds=expires_in_s),
            ),
        )
    return session_id


async def find_session(pool: AsyncConnectionPool, session_id: str, *, now: datetime) -> ConsoleSession | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select staff_id, access_token, csrf_token, expires_at from intake.console_sessions"
            " where session_hash = %s and expires_at > %s",
            (_key(session_id), now),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    staff_id, stored, csrf_token, expires_at = row
    token = open_token(session_id, stored)
    return ConsoleSession(staff_id, token, csrf_token, expires_at) if token is not None else None


async def end_session(pool: AsyncConnectionPool, session_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("delete from intake.console_sessions where session_hash = %s", (_key(session_id),))
