"""Staff accounts, pure: the state the staff events fold into, and the rules a change must meet before it
becomes an event. Who may change accounts is `may_manage_staff`: admins, and the operator's CLI.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Set
from dataclasses import dataclass, replace
from uuid import UUID

from civicloop_events.payloads.base import EventPayload
from civicloop_events.payloads.staff import (
    DisableReason,
    StaffCreated,
    StaffDisabled,
    StaffEnabled,
    StaffPasswordSet,
    StaffRolesChanged,
    StaffTeamsChanged,
    StaffTotpEnrolled,
)
from civicloop_events.personal_data import SealedPersonalData

from civicloop_staff.roles import Role, StaffPrincipal, normalised_roles, normalised_teams


@dataclass(frozen=True)
class StaffAccount:
    """One account as the log tells it (credentials themselves live in the staff store, never here)."""

    staff_id: UUID
    roles: tuple[Role, ...]
    teams: tuple[str, ...] = ()
    disabled: DisableReason | None = None
    has_password: bool = False
    totp_enrolled: bool = False

    @property
    def active(self) -> bool:
        return self.disabled is None


def fold(account: StaffAccount | None, payload: EventPayload) -> StaffAccount | None:
    """The account after one staff event (events of other accounts and other types leave it as it is)."""
    if isinstance(payload, StaffCreated):
        return StaffAccount(payload.staff_id, tuple(payload.roles), tuple(payload.teams))
    if account is None or getattr(payload, "staff_id", None) != account.staff_id:
        return account
    if isinstance(payload, StaffRolesChanged):
        return replace(account, roles=tuple(payload.roles))
    if isinstance(payload, StaffTeamsChanged):
        return replace(account, teams=tuple(payload.teams))
    if isinstance(payload, StaffDisabled):
        return replace(account, disabled=payload.reason)
    if isinstance(payload, StaffEnabled):
        return replace(account, disabled=None)
    if isinstance(payload, StaffPasswordSet):
        return replace(account, has_password=True)
    if isinstance(payload, StaffTotpEnrolled):
        return replace(account, totp_enrolled=True)
    return account


class StaffProblem(str, enum.Enum):
    not_allowed = "not_allowed"  # only admins (and the operator's CLI) manage staff
    no_role = "no_role"
    unknown_team = "unknown_team"
    own_admin_role = "own_admin_role"  # an admin cannot take their own admin role away...
    own_account = "own_account"  # ...nor disable themselves: another admin must


class StaffChangeRejected(Exception):
    def __init__(self, problem: StaffProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def may_manage_staff(by: StaffPrincipal | None) -> bool:
    """None is the operator's CLI, which runs with the deployment's own credentials."""
    return by is None or Role.admin in by.roles


def _check_manager(by: StaffPrincipal | None) -> None:
    if not may_manage_staff(by):
        raise StaffChangeRejected(StaffProblem.not_allowed, "only an admin manages staff accounts")


def _checked_teams(teams: Iterable[str], known_teams: Set[str]) -> list[str]:
    wanted = normalised_teams(teams)
    unknown = [t for t in wanted if t not in known_teams]
    if unknown:
        raise StaffChangeRejected(StaffProblem.unknown_team, f"no such team: {', '.join(unknown)}")
    return wanted


def _checked_roles(roles: Iterable[Role | str]) -> list[Role]:
    wanted = normalised_roles(roles)
    if not wanted:
        raise StaffChangeRejected(StaffProblem.no_role, "a staff account needs at least one role")
    return wanted


def create_account(
    *,
    staff_id: UUID,
    contact: SealedPersonalData,
    roles: Iterable[Role | str],
    teams: Iterable[str] = (),
    known_teams: Set[str],
    by: StaffPrincipal | None,
) -> StaffCreated:
    _check_manager(by)
    if contact.resident_id != staff_id:
        raise ValueError("the contact must be sealed under the staff member's own key")
    return StaffCreated(
        staff_id=staff_id,
        contact=contact,
        roles=_checked_roles(roles),
        teams=_checked_teams(teams, known_teams),
    )


def change_roles(
    account: StaffAccount, roles: Iterable[Role | str], *, by: StaffPrincipal | None
) -> StaffRolesChanged | None:
    """The event of the new roles, None when they are the account's already."""
    _check_manager(by)
    wanted = _checked_roles(roles)
    if by is not None and by.staff_id == account.staff_id and Role.admin not in wanted:
        raise StaffChangeRejected(StaffProblem.own_admin_role, "another admin must take your admin role away")
    if tuple(wanted) == account.roles:
        return None
    return StaffRolesChanged(staff_id=account.staff_id, roles=wanted, previous_roles=list(account.roles))


def change_teams(
    account: StaffAccount, teams: Iterable[str], *, known_teams: Set[str], by: StaffPrincipal | None
) -> StaffTeamsChanged | None:
    _check_manager(by)
    wanted = _checked_teams(teams, known_teams)
    if tuple(wanted) == account.teams:
        return None
    return StaffTeamsChanged(staff_id=account.staff_id, teams=wanted, previous_teams=list(account.teams))


def disable(
    account: StaffAccount, reason: DisableReason, *, by: StaffPrincipal | None
) -> StaffDisabled | None:
    _check_manager(by)
    if by is not None and by.staff_id == account.staff_id:
        raise StaffChangeRejected(StaffProblem.own_account, "another admin must disable your account")
    if account.disabled is not None:
        return None
    return StaffDisabled(staff_id=account.staff_id, reason=reason)


def enable(account: StaffAccount, *, by: StaffPrincipal | None) -> StaffEnabled | None:
    _check_manager(by)
    return None if account.disabled is None else StaffEnabled(staff_id=account.staff_id)
