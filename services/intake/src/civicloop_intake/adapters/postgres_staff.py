"""The staff store in intake's database: accounts and teams folded from the staff events, the credentials that
never go on the log, and `intake.staff_changes`, the outbox of the staff events intake publishes.

Each change writes its event row in the same transaction as what it does to the credentials, so nothing accepted is
lost; the row is then published by `civicloop_events.outbox` (a retry or the sweeper finish what a crash left).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events import Event, PersonalData, SealedPersonalData, encode_event
from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox
from civicloop_events.payloads.staff import DisableReason, StaffCreated, TeamDefined
from civicloop_events.personal_data import PersonalDataUnreadable, new_key, seal, unseal
from civicloop_staff import accounts
from civicloop_staff.accounts import StaffAccount
from civicloop_staff.lockout import FailureRecord
from civicloop_staff.oidc import PendingSignIn
from civicloop_staff.one_time_secrets import ResetToken
from civicloop_staff.roles import Role
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.staff import StaffLogin
from civicloop_intake.service_layer.staff_ports import AccountRow, EmailTaken, PendingTotp, StaffStore

STAFF_OUTBOX = OutboxTable(schema="intake", table="staff_changes", key="change_id")
STAFF_CONSUMER = "intake.staff.v1"

_LOGIN = """select c.staff_id, c.jurisdiction_id, c.password_hash, c.password_set_at, c.totp_secret,
                   c.totp_last_step, c.recovery_digests, c.failures, c.window_started_at, c.locked_until,
                   c.lockouts, a.roles, a.teams, a.disabled
              from intake.staff_credentials c left join intake.staff_accounts a using (staff_id)"""


def _account(row: dict[str, Any]) -> StaffAccount:
    return StaffAccount(
        staff_id=row["staff_id"],
        roles=tuple(Role(r) for r in row["roles"]),
        teams=tuple(row["teams"]),
        disabled=DisableReason(row["disabled"]) if row["disabled"] else None,
    )


def _login(row: dict[str, Any]) -> StaffLogin:
    return StaffLogin(
        staff_id=row["staff_id"],
        jurisdiction_id=row["jurisdiction_id"],
        account=_account(row) if row["roles"] is not None else None,
        password_hash=row["password_hash"],
        password_set_at=row["password_set_at"],
        totp_secret=row["totp_secret"],
        totp_last_step=row["totp_last_step"],
        recovery_digests=tuple(row["recovery_digests"]),
        failures=FailureRecord(
            failures=row["failures"],
            window_started_at=row["window_started_at"],
            locked_until=row["locked_until"],
            lockouts=row["lockouts"],
        ),
    )


async def _add_event(conn: psycopg.AsyncConnection[Any], event: Event[Any], staff_id: UUID | None) -> None:
    await conn.execute(
        "insert into intake.staff_changes (change_id, staff_id, event, state) values (%s, %s, %s::json, 'pending')",
        (event.event_id, staff_id, encode_event(event).decode()),
    )


class PostgresStaffStore(PostgresOutbox, StaffStore):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, STAFF_OUTBOX)

    async def _one(self, query: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(query, params)
            return await cur.fetchone()

    async def login_by_email(self, email_digest: bytes) -> StaffLogin | None:
        row = await self._one(_LOGIN + " where c.email_digest = %s", (email_digest,))
        return _login(row) if row else None

    async def login(self, staff_id: UUID) -> StaffLogin | None:
        row = await self._one(_LOGIN + " where c.staff_id = %s", (staff_id,))
        return _login(row) if row else None

    async def account(self, staff_id: UUID) -> AccountRow | None:
        row = await self._one(
            "select staff_id, jurisdiction_id, roles, teams, disabled, contact::text as contact"
            " from intake.staff_accounts where staff_id = %s",
            (staff_id,),
        )
        if row is None:
            return None
        return AccountRow(
            row["jurisdiction_id"], _account(row), SealedPersonalData.model_validate_json(row["contact"])
        )

    async def known_teams(self, jurisdiction_id: str) -> set[str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select team_id from intake.staff_teams where jurisdiction_id = %s and active",
                (jurisdiction_id,),
            )
            return {r[0] for r in await cur.fetchall()}

    async def seal_contact(self, staff_id: UUID, contact: PersonalData) -> SealedPersonalData:
        # The vault's keys table, under the staff id: not in the residents' index (no resident is found by it).
        key = new_key()
        async with self.pool.connection() as conn:
            await conn.execute(
                "insert into vault.resident_keys (resident_id, key) values (%s, %s)", (staff_id, key)
            )
        return seal(contact, resident_id=staff_id, key=key)

    async def unseal_contact(self, sealed: SealedPersonalData) -> PersonalData | None:
        row = await self._one(
            "select key from vault.resident_keys where resident_id = %s", (sealed.resident_id,)
        )
        try:
            return unseal(sealed, key=bytes(row["key"]) if row and row["key"] is not None else None)
        except PersonalDataUnreadable:
            return None

    async def create(
        self, event: Event[Any], *, staff_id: UUID, jurisdiction_id: str, email_digest: bytes | None
    ) -> None:
        try:
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "insert into intake.staff_credentials (staff_id, jurisdiction_id, email_digest)"
                    " values (%s, %s, %s)",
                    (staff_id, jurisdiction_id, email_digest),
                )
                await _add_event(conn, event, staff_id)
        except psycopg.errors.UniqueViolation as exc:
            raise EmailTaken from exc

    async def add_change(self, event: Event[Any], *, staff_id: UUID | None) -> None:
        async with self.pool.connection() as conn:
            await _add_event(conn, event, staff_id)

    async def set_password(
        self,
        staff_id: UUID,
        password_hash: str,
        *,
        at: datetime,
        event: Event[Any],
        spend_reset_token: str | None = None,
    ) -> bool:
        async with self.pool.connection() as conn, conn.transaction():
            if spend_reset_token is not None:
                spent = await conn.execute(
                    "update intake.staff_reset_tokens set used_at = %s"
                    " where token_digest = %s and staff_id = %s and used_at is null",
                    (at, spend_reset_token, staff_id),
                )
                if spent.rowcount != 1:
                    return False
            await conn.execute(
                "update intake.staff_credentials set password_hash = %s, password_set_at = %s, failures = 0,"
                " window_started_at = null, locked_until = null, lockouts = 0 where staff_id = %s",
                (password_hash, at, staff_id),
            )
            await _add_event(conn, event, staff_id)
        return True

    async def record_attempt(
        self, staff_id: UUID, failures: FailureRecord, *, rehashed: str | None = None
    ) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "update intake.staff_credentials set failures = %s, window_started_at = %s, locked_until = %s,"
                " lockouts = %s, password_hash = coalesce(%s, password_hash) where staff_id = %s",
                (
                    failures.failures,
                    failures.window_started_at,
                    failures.locked_until,
                    failures.lockouts,
                    rehashed,
                    staff_id,
                ),
            )

    async def spend_totp_step(self, staff_id: UUID, step: int) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "update intake.staff_credentials set totp_last_step = %s"
                " where staff_id = %s and (totp_last_step is null or totp_last_step < %s)",
                (step, staff_id, step),
            )
            return cur.rowcount == 1

    async def spend_recovery_code(self, staff_id: UUID, before: tuple[str, ...], after: list[str]) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "update intake.staff_credentials set recovery_digests = %s"
                " where staff_id = %s and recovery_digests = %s",
                (after, staff_id, list(before)),
            )
            return cur.rowcount == 1

    async def start_totp(self, ticket_digest: str, pending: PendingTotp) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "delete from intake.staff_totp_pending where staff_id = %s", (pending.staff_id,)
            )
            await conn.execute(
                "insert into intake.staff_totp_pending (ticket_digest, staff_id, secret, recovery_digests,"
                " expires_at) values (%s, %s, %s, %s, %s)",
                (
                    ticket_digest,
                    pending.staff_id,
                    pending.secret,
                    list(pending.recovery_digests),
                    pending.expires_at,
                ),
            )

    async def pending_totp(self, ticket_digest: str, *, now: datetime) -> PendingTotp | None:
        row = await self._one(
            "select staff_id, secret, recovery_digests, expires_at from intake.staff_totp_pending"
            " where ticket_digest = %s and expires_at > %s",
            (ticket_digest, now),
        )
        if row is None:
            return None
        return PendingTotp(row["staff_id"], row["secret"], tuple(row["recovery_digests"]), row["expires_at"])

    async def enrol_totp(
        self, ticket_digest: str, pending: PendingTotp, *, step: int, event: Event[Any]
    ) -> bool:
        async with self.pool.connection() as conn, conn.transaction():
            taken = await conn.execute(
                "delete from intake.staff_totp_pending where ticket_digest = %s", (ticket_digest,)
            )
            if taken.rowcount != 1:
                return False
            await conn.execute(
                "update intake.staff_credentials set totp_secret = %s, totp_last_step = %s, recovery_digests = %s,"
                " failures = 0, window_started_at = null, locked_until = null, lockouts = 0 where staff_id = %s",
                (pending.secret, step, list(pending.recovery_digests), pending.staff_id),
            )
            await _add_event(conn, event, pending.staff_id)
        return True

    async def add_reset_token(self, staff_id: UUID, token: ResetToken) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "insert into intake.staff_reset_tokens (token_digest, staff_id, issued_at, expires_at)"
                " values (%s, %s, %s, %s)",
                (token.token_digest, staff_id, token.issued_at, token.expires_at),
            )

    async def reset_token(self, token_digest: str) -> tuple[UUID, ResetToken] | None:
        row = await self._one(
            "select staff_id, token_digest, issued_at, expires_at, used_at from intake.staff_reset_tokens"
            " where token_digest = %s",
            (token_digest,),
        )
        if row is None:
            return None
        staff_id = row.pop("staff_id")
        return staff_id, ResetToken(**row)

    async def add_oidc_pending(self, pending: PendingSignIn, *, expires_at: datetime) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "insert into intake.staff_oidc_pending (state, jurisdiction_id, nonce, code_verifier, started_at,"
                " expires_at) values (%s, %s, %s, %s, %s, %s)",
                (
                    pending.state,
                    pending.jurisdiction_id,
                    pending.nonce,
                    pending.code_verifier,
                    pending.started_at,
                    expires_at,
                ),
            )

    async def take_oidc_pending(self, state: str, *, now: datetime) -> PendingSignIn | None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("delete from intake.staff_oidc_pending where expires_at <= %s", (now,))
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "delete from intake.staff_oidc_pending where state = %s"
                " returning jurisdiction_id, state, nonce, code_verifier, started_at",
                (state,),
            )
            row = await cur.fetchone()
        return PendingSignIn(**row) if row else None

    async def linked_staff(self, issuer: str, subject: str) -> UUID | None:
        row = await self._one(
            "select staff_id from intake.staff_oidc_links where issuer = %s and subject = %s",
            (issuer, subject),
        )
        return row["staff_id"] if row else None

    async def link_new_account(self, issuer: str, subject: str, event: Event[Any], *, staff_id: UUID) -> UUID:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "insert into intake.staff_oidc_links (issuer, subject, staff_id) values (%s, %s, %s)"
                " on conflict (issuer, subject) do nothing",
                (issuer, subject, staff_id),
            )
            if cur.rowcount != 1:
                found = await conn.execute(
                    "select staff_id from intake.staff_oidc_links where issuer = %s and subject = %s",
                    (issuer, subject),
                )
                row = await found.fetchone()
                if row is None:
                    raise RuntimeError("a link that conflicted is gone")
                return UUID(str(row[0]))
            await conn.execute(
                "insert into intake.staff_credentials (staff_id, jurisdiction_id, email_digest) values (%s, %s, null)",
                (staff_id, event.jurisdiction_id),
            )
            await _add_event(conn, event, staff_id)
        return staff_id


class PostgresStaffRows:
    """The folded accounts and teams, within the consumer runner's transaction (effect, inbox and position)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def apply(self, event: Event[Any]) -> None:
        payload = event.payload
        if isinstance(payload, TeamDefined):
            await self._conn.execute(
                "insert into intake.staff_teams (jurisdiction_id, team_id, name, active) values (%s, %s, %s, %s)"
                " on conflict (jurisdiction_id, team_id) do update set name = excluded.name, active = excluded.active",
                (event.jurisdiction_id, payload.team_id, payload.name, payload.active),
            )
            return
        staff_id = getattr(payload, "staff_id", None)
        if staff_id is None or not type(payload).event_type.startswith("staff."):
            return
        cur = self._conn.cursor(row_factory=dict_row)
        await cur.execute(
            "select staff_id, roles, teams, disabled from intake.staff_accounts where staff_id = %s for update",
            (staff_id,),
        )
        row = await cur.fetchone()
        before = _account(row) if row else None
        after = accounts.fold(before, payload)
        if after is None or after == before:
            return
        if isinstance(payload, StaffCreated):
            await self._conn.execute(
                "insert into intake.staff_accounts (staff_id, jurisdiction_id, roles, teams, contact)"
                " values (%s, %s, %s, %s, %s::json) on conflict (staff_id) do nothing",
                (
                    staff_id,
                    event.jurisdiction_id,
                    [r.value for r in after.roles],
                    list(after.teams),
                    payload.contact.model_dump_json(),
                ),
            )
            return
        await self._conn.execute(
            "update intake.staff_accounts set roles = %s, teams = %s, disabled = %s, updated_at = now()"
            " where staff_id = %s",
            (
                [r.value for r in after.roles],
                list(after.teams),
                after.disabled.value if after.disabled else None,
                staff_id,
            ),
        )
