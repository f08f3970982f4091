"""Per-resident keys in PostgreSQL (schema `vault`): seal, unseal, and erase a person (crypto-shredding).

A resident is found again by a keyed digest (HMAC with the deployment's pepper) of their normalised email or phone,
so one person has one key however many requests they make, and erasing that key erases them from every event.
Only services that must contact a person (intake, notifier) are given access to this schema.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import UUID

import uuid6
from civicloop_events.personal_data import PersonalData, SealedPersonalData, new_key, seal, unseal
from psycopg_pool import AsyncConnectionPool

VAULT_MIGRATIONS = __file__.rsplit("/", 1)[0] + "/vault_migrations"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit() or ch == "+")


class ResidentKeyVault:
    def __init__(self, pool: AsyncConnectionPool, *, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("the vault pepper must be at least 16 bytes")
        self.pool = pool
        self._pepper = pepper

    def _digests(self, *, email: str | None, phone: str | None) -> list[bytes]:
        out = []
        if email:
            out.append(
                hmac.new(self._pepper, b"email:" + normalise_email(email).encode(), hashlib.sha256).digest()
            )
        if phone:
            out.append(
                hmac.new(self._pepper, b"phone:" + normalise_phone(phone).encode(), hashlib.sha256).digest()
            )
        return out

    async def find_resident(self, *, email: str | None = None, phone: str | None = None) -> UUID | None:
        digests = self._digests(email=email, phone=phone)
        if not digests:
            return None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select resident_id from vault.resident_index where digest = any(%s) limit 1", (digests,)
            )
            row = await cur.fetchone()
        return row[0] if row else None

    async def resident_for(self, data: PersonalData) -> UUID:
        """The resident these details belong to, created (with a fresh key) the first time they are seen."""
        digests = self._digests(email=data.email, phone=data.phone)
        async with self.pool.connection() as conn, conn.transaction():
            if digests:
                # Serialise concurrent first submissions of the same person.
                for d in sorted(digests):
                    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (d.hex(),))
                cur = await conn.execute(
                    "select resident_id from vault.resident_index where digest = any(%s) limit 1", (digests,)
                )
                row = await cur.fetchone()
                if row:
                    known: UUID = row[0]
                    await self._index(conn, known, digests)
                    return known
            resident_id = uuid6.uuid7()
            await conn.execute(
                "insert into vault.resident_keys (resident_id, key) values (%s, %s)", (resident_id, new_key())
            )
            await self._index(conn, resident_id, digests)
            return resident_id

    @staticmethod
    async def _index(conn: Any, resident_id: UUID, digests: list[bytes]) -> None:
        for d in digests:
            await conn.execute(
                "insert into vault.resident_index (digest, resident_id) values (%s, %s) on conflict do nothing",
                (d, resident_id),
            )

    async def key_for(self, resident_id: UUID) -> bytes | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select key from vault.resident_keys where resident_id = %s", (resident_id,)
            )
            row = await cur.fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    async def seal(self, data: PersonalData) -> SealedPersonalData:
        resident_id = await self.resident_for(data)
        key = await self.key_for(resident_id)
        if key is None:  # erased earlier and seen again: a new key, the old events stay unreadable
            key = new_key()
            async with self.pool.connection() as conn:
                await conn.execute(
                    "update vault.resident_keys set key = %s, erased_at = null where resident_id = %s",
                    (key, resident_id),
                )
        return seal(data, resident_id=resident_id, key=key)

    async def unseal(self, sealed: SealedPersonalData) -> PersonalData:
        return unseal(sealed, key=await self.key_for(sealed.resident_id))

    async def erase(self, resident_id: UUID) -> None:
        """Destroy the key: every sealed copy of this person, on the log and in backups of events, is unreadable."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "update vault.resident_keys set key = null, erased_at = now() where resident_id = %s",
                (resident_id,),
            )
            await conn.execute("delete from vault.resident_index where resident_id = %s", (resident_id,))
