"""Staff management (create, roles, teams, disable, enable, teams of the jurisdiction): each change decided by the
account rules (`civicloop_staff.accounts`), stored with its event, published, then answered. `by` is the verified
admin (None: the operator's CLI, whose actor names the operator)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

import uuid6
from civicloop_events import PersonalData, SealedPersonalData
from civicloop_events.outbox import EventLog
from civicloop_events.payloads.base import EventPayload
from civicloop_events.payloads.staff import DisableReason, StaffCreated, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_staff import accounts
from civicloop_staff.accounts import StaffChangeRejected, StaffProblem
from civicloop_staff.roles import Role, StaffPrincipal

from civicloop_intake.domain.staff import actor_of, email_digest, staff_event
from civicloop_intake.service_layer.staff_ports import AccountRow, StaffStore
from civicloop_intake.service_layer.staff_publishing import publish_change


class StaffNotFound(Exception):
    """No such account in the acting admin's jurisdiction (or not folded yet)."""


def _check_manager(by: StaffPrincipal | None) -> None:
    if not accounts.may_manage_staff(by):
        raise StaffChangeRejected(StaffProblem.not_allowed, "only an admin manages staff accounts")


@dataclass(frozen=True)
class StaffAdmin:
    store: StaffStore
    config_log: EventLog
    pepper: bytes
    operator: str = "operator"  # who ran the CLI (with `by=None`)

    async def _record(
        self, payload: EventPayload, *, jurisdiction_id: str, by: StaffPrincipal | None
    ) -> None:
        actor, source = actor_of(by, self.operator)
        event = staff_event(payload, jurisdiction_id=jurisdiction_id, actor=actor, source=source)
        await self.store.add_change(event, staff_id=getattr(payload, "staff_id", None))
        await publish_change(self.store, self.config_log, event.event_id, what=f"{event.type} recorded")

    async def define_team(
        self, team_id: str, name: str, *, jurisdiction_id: str, by: StaffPrincipal | None, active: bool = True
    ) -> None:
        _check_manager(by)
        payload = TeamDefined(team_id=team_id, name=name, active=active)
        await self._record(payload, jurisdiction_id=jurisdiction_id, by=by)

    async def create(
        self,
        *,
        email: str,
        name: str | None,
        roles: Iterable[Role | str],
        teams: Iterable[str],
        jurisdiction_id: str,
        by: StaffPrincipal | None,
    ) -> UUID:
        """A new account (no password yet: its owner sets one through a reset link). `EmailTaken` when another
        account signs in with this email."""
        staff_id, roles, teams = uuid6.uuid7(), list(roles), list(teams)
        known = await self.store.known_teams(jurisdiction_id)

        def decided(contact: SealedPersonalData) -> StaffCreated:
            return accounts.create_account(
                staff_id=staff_id, contact=contact, roles=roles, teams=teams, known_teams=known, by=by
            )

        # The rules first, on an empty contact under a throwaway key: no key is kept for an account refused.
        decided(seal(PersonalData(), resident_id=staff_id, key=new_key()))
        payload = decided(
            await self.store.seal_contact(staff_id, PersonalData(email=email.strip(), name=name))
        )
        actor, source = actor_of(by, self.operator)
        event = staff_event(payload, jurisdiction_id=jurisdiction_id, actor=actor, source=source)
        await self.store.create(
            event,
            staff_id=staff_id,
            jurisdiction_id=jurisdiction_id,
            email_digest=email_digest(self.pepper, email),
        )
        await publish_change(self.store, self.config_log, event.event_id, what="staff account created")
        return staff_id

    async def _account(self, staff_id: UUID, by: StaffPrincipal | None) -> AccountRow:
        row = await self.store.account(staff_id)
        if row is None or (by is not None and not by.acts_for(row.jurisdiction_id)):
            raise StaffNotFound(str(staff_id))
        return row

    async def change_roles(
        self, staff_id: UUID, roles: Iterable[Role | str], *, by: StaffPrincipal | None
    ) -> bool:
        row = await self._account(staff_id, by)
        change = accounts.change_roles(row.account, roles, by=by)
        if change is not None:
            await self._record(change, jurisdiction_id=row.jurisdiction_id, by=by)
        return change is not None

    async def change_teams(self, staff_id: UUID, teams: Iterable[str], *, by: StaffPrincipal | None) -> bool:
        row = await self._account(staff_id, by)
        known = await self.store.known_teams(row.jurisdiction_id)
        change = accounts.change_teams(row.account, teams, known_teams=known, by=by)
        if change is not None:
            await self._record(change, jurisdiction_id=row.jurisdiction_id, by=by)
        return change is not None

    async def disable(self, staff_id: UUID, reason: DisableReason, *, by: StaffPrincipal | None) -> bool:
        row = await self._account(staff_id, by)
        change = accounts.disable(row.account, reason, by=by)
        if change is not None:
            await self._record(change, jurisdiction_id=row.jurisdiction_id, by=by)
        return change is not None

    async def enable(self, staff_id: UUID, *, by: StaffPrincipal | None) -> bool:
        row = await self._account(staff_id, by)
        change = accounts.enable(row.account, by=by)
        if change is not None:
            await self._record(change, jurisdiction_id=row.jurisdiction_id, by=by)
        return change is not None

    async def read(self, staff_id: UUID, *, by: StaffPrincipal | None) -> AccountRow:
        _check_manager(by)
        return await self._account(staff_id, by)
