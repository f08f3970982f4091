"""Resident access in PostgreSQL: pending codes and sessions (intake's tables, digests only), the residents' requests
in the track view, the vault's directory of residents, and the per-contact attempt limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from civicloop_runtime.attempt_limits import PostgresAttemptLimit
from civicloop_runtime.vault import ResidentKeyVault
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.postgres_tracking import tracked_from_row
from civicloop_intake.domain.resident_access import (
    CodeVerdict,
    ContactKind,
    PendingCode,
    ResidentContact,
    ResidentSession,
)
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.resident_ports import (
    AccessCodes,
    ContactAttempts,
    ResidentDirectory,
    ResidentRequests,
    ResidentSessions,
)

CODE_REQUESTS_SCOPE = "resident_code_request"  # keys: contact digests, hex
CODE_CHECKS_SCOPE = "resident_code_check"


def _pending(row: dict[str, Any]) -> PendingCode:
    return PendingCode(
        contact_digest=bytes(row["contact_digest"]),
        resident_id=row["resident_id"],
        code_digest=bytes(row["code_digest"]),
        expires_at=row["expires_at"],
        wrong_tries=row["wrong_tries"],
    )


class PostgresAccessCodes(AccessCodes):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def put(self, code: PendingCode) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "insert into intake.resident_codes (contact_digest, resident_id, code_digest, expires_at,"
                " wrong_tries) values (%s, %s, %s, %s, 0) on conflict (contact_digest) do update set"
                " resident_id = excluded.resident_id, code_digest = excluded.code_digest,"
                " expires_at = excluded.expires_at, wrong_tries = 0",
                (code.contact_digest, code.resident_id, code.code_digest, code.expires_at),
            )
            # Expired codes of contacts that never came back are of no use to anyone.
            await conn.execute(
                "delete from intake.resident_codes where expires_at < now() - interval '1 day'"
            )

    async def settle(
        self, contact_digest: bytes, decide: Callable[[PendingCode | None], CodeVerdict]
    ) -> CodeVerdict:
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "select * from intake.resident_codes where contact_digest = %s for update", (contact_digest,)
            )
            row = await cur.fetchone()
            verdict = decide(_pending(row) if row else None)
            if row is not None and verdict.kept is not None:
                await conn.execute(
                    "update intake.resident_codes set wrong_tries = %s where contact_digest = %s",
                    (verdict.kept.wrong_tries, contact_digest),
                )
            elif row is not None:
                await conn.execute(
                    "delete from intake.resident_codes where contact_digest = %s", (contact_digest,)
                )
        return verdict


class PostgresResidentSessions(ResidentSessions):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def add(self, session: ResidentSession) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "insert into intake.resident_sessions (token_digest, resident_id, expires_at) values (%s, %s, %s)",
                (session.token_digest, session.resident_id, session.expires_at),
            )
            await conn.execute(
                "delete from intake.resident_sessions where expires_at < now() - interval '1 day'"
            )

    async def get(self, token_digest: bytes) -> ResidentSession | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select resident_id, expires_at from intake.resident_sessions where token_digest = %s",
                (token_digest,),
            )
            row = await cur.fetchone()
        return ResidentSession(token_digest, row[0], row[1]) if row else None

    async def remove(self, token_digest: bytes) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "delete from intake.resident_sessions where token_digest = %s", (token_digest,)
            )


class PostgresResidentRequests(ResidentRequests):
    """By the resident id the sealed contact carries in clear (indexed by migration intake_0007)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def of(self, resident_id: UUID, *, limit: int) -> Sequence[TrackedRequest]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "select * from intake.tracking where contact->>'resident_id' = %s"
                " order by submitted_at desc, request_number limit %s",
                (str(resident_id), limit),
            )
            return [tracked_from_row(row) for row in await cur.fetchall()]


class VaultResidentDirectory(ResidentDirectory):
    def __init__(self, vault: ResidentKeyVault) -> None:
        self._vault = vault

    async def find(self, contact: ResidentContact) -> UUID | None:
        if contact.kind is ContactKind.email:
            return await self._vault.find_resident(email=contact.value)
        return await self._vault.find_resident(phone=contact.value)

    async def present(self, resident_id: UUID) -> bool:
        return await self._vault.key_for(resident_id) is not None


class PostgresContactAttempts(PostgresAttemptLimit, ContactAttempts):
    def __init__(self, pool: AsyncConnectionPool, *, scope: str, max_attempts: int, window_s: float) -> None:
        super().__init__(pool, scope=scope, max_attempts=max_attempts, window_s=window_s)
