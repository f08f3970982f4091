"""The jurisdiction's staff as intake folded them from `jurisdiction.config` (intake's own tables): its teams and its
accounts, each account's name and email unsealed for the staff pages that show them (the admin's staff page, the
console's assignment picker), never logged."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from civicloop_events import SealedPersonalData
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.service_layer.staff_ports import StaffStore


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    active: bool


@dataclass(frozen=True)
class Account:
    staff_id: UUID
    name: str | None
    email: str | None  # None: the staff member's key was erased
    roles: tuple[str, ...]
    teams: tuple[str, ...]
    disabled: str | None


async def teams(pool: AsyncConnectionPool, jurisdiction_id: str) -> list[Team]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select team_id, name, active from intake.staff_teams where jurisdiction_id = %s order by team_id",
            (jurisdiction_id,),
        )
        return [Team(*row) for row in await cur.fetchall()]


async def accounts(pool: AsyncConnectionPool, store: StaffStore, jurisdiction_id: str) -> list[Account]:
    """Every account of the jurisdiction, by name then email (the disabled ones too: they can be enabled)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select staff_id, roles, teams, disabled, contact::text from intake.staff_accounts"
            " where jurisdiction_id = %s",
            (jurisdiction_id,),
        )
        rows = await cur.fetchall()
    found = []
    for staff_id, roles, member_of, disabled, contact in rows:
        clear = await store.unseal_contact(SealedPersonalData.model_validate_json(contact))
        found.append(
            Account(
                staff_id=staff_id,
                name=clear.name if clear else None,
                email=clear.email if clear else None,
                roles=tuple(roles),
                teams=tuple(sorted(member_of)),
                disabled=disabled,
            )
        )
    return sorted(found, key=lambda a: ((a.name or "").lower(), (a.email or "").lower(), str(a.staff_id)))
