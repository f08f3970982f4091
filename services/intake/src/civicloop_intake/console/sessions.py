"""Console sessions in intake's database (`intake.console_sessions`): the browser holds only an opaque random id in
an HttpOnly cookie; the row, found by the id's SHA-256, holds the staff access token and the session's CSRF token.

A session lasts as long as its token (15 minutes): it is not renewed, so signing out elsewhere, a disabled account
or a changed role takes effect at the latest when the token would have expired anyway. Signing out deletes the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True)
class ConsoleSession:
    staff_id: UUID
    access_token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    expires_at: datetime

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf_token.encode())


def _key(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


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
                access_token,
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
    return ConsoleSession(*row) if row else None


async def end_session(pool: AsyncConnectionPool, session_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("delete from intake.console_sessions where session_hash = %s", (_key(session_id),))
